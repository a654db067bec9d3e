# Guest artifacts for real-Linux runs (included by the top Makefile).
#   make guest-kernel     build/guest/vmlinux (symlink into ~/.cache/ember, built once)
#   make guest-kernel-nopvh  build/guest/vmlinux-nopvh, bzImage-nopvh (the same without PVH: the 64-bit boot protocol)
#   make guest-initramfs  build/guest/initramfs.cpio.gz (guest/init.c + busybox)

LINUX_GUEST_OUT := $(or $(B),build)/guest

guest-kernel:
	@mkdir -p $(LINUX_GUEST_OUT)
	@k=$$(guest/build-kernel.sh) && ln -sfn "$$k" $(LINUX_GUEST_OUT)/vmlinux

guest-kernel-nopvh:
	@mkdir -p $(LINUX_GUEST_OUT)
	@k=$$(guest/build-kernel.sh nopvh) && ln -sfn "$$k" $(LINUX_GUEST_OUT)/vmlinux-nopvh && \
		ln -sfn "$${k%/vmlinux}/bzImage" $(LINUX_GUEST_OUT)/bzImage-nopvh

guest-initramfs: $(LINUX_GUEST_OUT)/initramfs.cpio.gz

$(LINUX_GUEST_OUT)/initramfs.cpio.gz: guest/init.c guest/vsock-echo.c guest/diskbench.c guest/build-initramfs.sh
	@mkdir -p $(LINUX_GUEST_OUT)
	@guest/build-initramfs.sh $@ >/dev/null

.PHONY: guest-kernel guest-kernel-nopvh guest-initramfs
