// SPDX-License-Identifier: MIT
/* The snapshot's own sections: META (who wrote it, when, full or diff),
 * VMEM (the RAM size) and CONF (the configuration the VM was built from),
 * and the check of a whole state file before a restore. Pure: no KVM. */
#include "snapshot/snapshot.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "boot/layout.h"
#include "boot/mptable.h"
#include "guest_mem.h"
#include "util.h"

#define TAG_META SNAP_TAG('M', 'E', 'T', 'A')
#define TAG_CONF SNAP_TAG('C', 'O', 'N', 'F')
#define TAG_VMEM SNAP_TAG('V', 'M', 'E', 'M')
#define TAG_CLOK SNAP_TAG('C', 'L', 'O', 'K')
#define TAG_VCPU SNAP_TAG('V', 'C', 'P', 'U')

/* --- the configuration ------------------------------------------------------ */

static void put_tb(struct snap_w *w, const struct token_bucket_config *b)
{
	snap_put_u8(w, b->set);
	snap_put_u64(w, b->size);
	snap_put_u64(w, b->one_time_burst);
	snap_put_u64(w, b->refill_time_ms);
}

static void put_rl(struct snap_w *w, const struct rate_limiter_config *rl)
{
	put_tb(w, &rl->bandwidth);
	put_tb(w, &rl->ops);
}

static void get_tb(struct snap_r *r, struct token_bucket_config *b)
{
	b->set = snap_get_bool(r);
	b->size = snap_get_u64(r);
	b->one_time_burst = snap_get_u64(r);
	b->refill_time_ms = snap_get_u64(r);
}

static void get_rl(struct snap_r *r, struct rate_limiter_config *rl)
{
	get_tb(r, &rl->bandwidth);
	get_tb(r, &rl->ops);
}

/* What the VM was built from (META, VMEM, CONF). The process's own settings (logger, metrics,
 * serial output, boot trace, debug) belong to the restoring process. */
void snapshot_save_meta(struct snap_w *w, const struct ember_config *c, bool diff)
{
	snap_begin(w, TAG_META, 0);
	snap_put_str(w, EMBER_VERSION);
	snap_put_u64(w, (uint64_t)time(NULL));
	snap_put_u8(w, diff);
	snap_begin(w, TAG_VMEM, 0);
	snap_put_u64(w, c->mem_size);
	snap_begin(w, TAG_CONF, 0);
	snap_put_str(w, c->kernel);
	snap_put_str(w, c->initrd);
	snap_put_str(w, c->cmdline);
	snap_put_u64(w, c->mem_size);
	snap_put_u32(w, c->ncpus);
	snap_put_u8(w, c->smt);
	snap_put_u8(w, (uint8_t)c->huge_pages);
	snap_put_u8(w, c->thp);
	snap_put_u32(w, c->ndisks);
	for (unsigned i = 0; i < c->ndisks; i++) {
		const struct disk_config *d = &c->disks[i];

		snap_put_str(w, d->id);
		snap_put_str(w, d->path);
		snap_put_u8(w, d->ro);
		snap_put_str(w, d->partuuid);
		snap_put_u8(w, (uint8_t)d->cache);
		put_rl(w, &d->rl);
	}
	snap_put_u32(w, (uint32_t)(c->root_disk + 1));
	snap_put_u32(w, c->nnets);
	for (unsigned i = 0; i < c->nnets; i++) {
		const struct net_config *n = &c->nets[i];

		snap_put_str(w, n->id);
		snap_put_str(w, n->tap);
		snap_put(w, n->mac, 6);
		snap_put_u8(w, n->has_mac);
		snap_put_u16(w, n->mtu);
		put_rl(w, &n->rx_rl);
		put_rl(w, &n->tx_rl);
	}
	snap_put_u8(w, c->vsock.enabled);
	snap_put_u64(w, c->vsock.cid);
	snap_put_str(w, c->vsock.uds);
	snap_put_str(w, c->vsock.id);
	snap_put_u8(w, c->rng.enabled);
	put_rl(w, &c->rng.rl);
	snap_put_u8(w, (uint8_t)c->console);
	put_tb(w, &c->serial.rl);
}

static int load_config(const struct snap_section *s, struct ember_config *c)
{
	struct snap_r r;
	unsigned root;

	snap_r_init(&r, s->data, s->len);
	snap_get_str(&r, c->kernel, sizeof(c->kernel));
	snap_get_str(&r, c->initrd, sizeof(c->initrd));
	snap_get_str(&r, c->cmdline, sizeof(c->cmdline));
	c->mem_size = snap_get_u64(&r);
	c->ncpus = snap_get_u32(&r);
	c->smt = snap_get_bool(&r);
	c->huge_pages = (enum huge_pages)snap_get_u8(&r);
	c->thp = snap_get_bool(&r);
	c->ndisks = snap_get_u32(&r);
	if (r.err || c->ndisks > CONFIG_MAX_DISKS)
		return -EINVAL;
	for (unsigned i = 0; i < c->ndisks; i++) {
		struct disk_config *d = &c->disks[i];

		snap_get_str(&r, d->id, sizeof(d->id));
		snap_get_str(&r, d->path, sizeof(d->path));
		d->ro = snap_get_bool(&r);
		snap_get_str(&r, d->partuuid, sizeof(d->partuuid));
		d->cache = (enum disk_cache)snap_get_u8(&r);
		get_rl(&r, &d->rl);
		if (d->cache > DISK_CACHE_WRITEBACK)
			return -EINVAL;
	}
	root = snap_get_u32(&r);
	if (root > c->ndisks)
		return -EINVAL;
	c->root_disk = (int)root - 1;
	c->nnets = snap_get_u32(&r);
	if (r.err || c->nnets > CONFIG_MAX_NETS)
		return -EINVAL;
	for (unsigned i = 0; i < c->nnets; i++) {
		struct net_config *n = &c->nets[i];

		snap_get_str(&r, n->id, sizeof(n->id));
		snap_get_str(&r, n->tap, sizeof(n->tap));
		snap_get(&r, n->mac, 6);
		n->has_mac = snap_get_bool(&r);
		n->mtu = snap_get_u16(&r);
		get_rl(&r, &n->rx_rl);
		get_rl(&r, &n->tx_rl);
	}
	c->vsock.enabled = snap_get_bool(&r);
	c->vsock.cid = snap_get_u64(&r);
	snap_get_str(&r, c->vsock.uds, sizeof(c->vsock.uds));
	snap_get_str(&r, c->vsock.id, sizeof(c->vsock.id));
	c->rng.enabled = snap_get_bool(&r);
	get_rl(&r, &c->rng.rl);
	c->console = (enum console_kind)snap_get_u8(&r);
	get_tb(&r, &c->serial.rl);
	if (snap_r_end(&r))
		return -EINVAL;
	if (c->mem_size < LAYOUT_MIN_MEMORY || c->mem_size > CONFIG_MAX_MEMORY ||
	    (c->mem_size & (GUEST_MEM_PAGE - 1)) || c->ncpus == 0 || c->ncpus > MPTABLE_MAX_CPUS ||
	    (c->smt && c->ncpus % 2) || c->huge_pages > HUGE_PAGES_2M ||
	    c->console > CONSOLE_VIRTIO ||
	    (c->huge_pages == HUGE_PAGES_2M && c->mem_size % GUEST_MEM_HUGE))
		return -EINVAL;
	return 0;
}

/* --- the state file -------------------------------------------------------- */

int snapshot_parse_config(const struct snap_file *f, struct ember_config *cfg,
			  struct snapshot_image *img)
{
	const struct snap_section *s;
	struct snap_r r;
	char ver[32];

	s = snap_find(f, TAG_META, 0);
	if (!s)
		return ember_seterr(-EINVAL, "damaged: no META section");
	snap_r_init(&r, s->data, s->len);
	snap_get_str(&r, ver, sizeof(ver));
	snap_get_u64(&r); /* when it was taken (seconds since the epoch) */
	img->diff = snap_get_bool(&r);
	if (snap_r_end(&r))
		return ember_seterr(-EINVAL, "damaged: META section");

	s = snap_find(f, TAG_CONF, 0);
	if (!s || load_config(s, cfg))
		return ember_seterr(-EINVAL, "damaged: the VM's configuration");

	s = snap_find(f, TAG_VMEM, 0);
	if (!s)
		return ember_seterr(-EINVAL, "damaged: no memory layout");
	snap_r_init(&r, s->data, s->len);
	img->mem_size = snap_get_u64(&r);
	if (snap_r_end(&r) || img->mem_size != cfg->mem_size)
		return ember_seterr(-EINVAL, "damaged: memory layout");

	s = snap_find(f, TAG_CLOK, 0);
	if (!s)
		return ember_seterr(-EINVAL, "damaged: no VM clock");
	snap_r_init(&r, s->data, s->len);
	img->clock.clock = snap_get_u64(&r);
	img->clock.flags = snap_get_u32(&r);
	img->clock.realtime = snap_get_u64(&r);
	img->clock.host_tsc = snap_get_u64(&r);
	if (snap_r_end(&r))
		return ember_seterr(-EINVAL, "damaged: VM clock");

	for (unsigned i = 0; i < cfg->ncpus; i++)
		if (!snap_find(f, TAG_VCPU, i))
			return ember_seterr(-EINVAL, "damaged: no state for vCPU %u of %u", i,
					    cfg->ncpus);
	return 0;
}
