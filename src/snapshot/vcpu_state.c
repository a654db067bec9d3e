// SPDX-License-Identifier: MIT
#include "snapshot/vcpu_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "util.h"
#include "vcpu.h"

#define MSR_IA32_TSC 0x10

int vcpu_caps_get(struct vcpu_caps *c, int kvm_fd)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	int x2;

	memset(c, 0, sizeof(*c));
	c->kvm_fd = kvm_fd;
	x2 = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	if (x2 > 0)
		c->xsave_size = (uint32_t)x2;
	else if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0)
		c->xsave_size = sizeof(struct kvm_xsave);
	if (c->xsave_size > VCPU_STATE_MAX_XSAVE)
		return ember_seterr(-ENOTSUP, "KVM's XSAVE area of %u bytes is above ember's %u",
				    c->xsave_size, VCPU_STATE_MAX_XSAVE);
	c->xcrs = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
	c->tsc_control = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_CONTROL) > 0;
	/* The first call says how many (E2BIG), the second lists them. */
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return ember_seterr(-errno, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
	if (probe.nmsrs == 0 || probe.nmsrs > VCPU_STATE_MAX_MSRS)
		return ember_seterr(-ENOTSUP, "KVM lists %u MSRs", probe.nmsrs);
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
	if (!list)
		return -ENOMEM;
	list->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		int err = -errno;

		free(list);
		return ember_seterr(err, "KVM_GET_MSR_INDEX_LIST: %s", strerror(-err));
	}
	c->msr_index = malloc(list->nmsrs * sizeof(uint32_t));
	if (!c->msr_index) {
		free(list);
		return -ENOMEM;
	}
	memcpy(c->msr_index, list->indices, list->nmsrs * sizeof(uint32_t));
	c->nmsr_index = list->nmsrs;
	free(list);
	return 0;
}

void vcpu_caps_free(struct vcpu_caps *c)
{
	free(c->msr_index);
	c->msr_index = NULL;
}

/* --- save ------------------------------------------------------------------- */

static void put_blob(struct snap_w *w, const void *p, uint32_t n)
{
	snap_put_u32(w, n);
	snap_put(w, p, n);
}

static int get_ioctl(struct vcpu *v, unsigned long req, void *arg, const char *name)
{
	if (ioctl(v->fd, req, arg) < 0)
		return ember_seterr(-errno, "vCPU %u: %s: %s", v->id, name, strerror(errno));
	return 0;
}

static int save_msrs(struct vcpu *v, const struct vcpu_caps *caps, struct snap_w *w)
{
	struct kvm_msr_entry *e = calloc(caps->nmsr_index + 1, sizeof(*e));
	uint32_t n = 0;

	if (!e)
		return -ENOMEM;
	uint64_t val = 0;

	/* The TSC first: KVM takes the deadline timer's MSR relative to it.
	 * KVM lists MSRs of features this guest's CPUID may not have: only
	 * those it can read for this vCPU are kept. */
	if (vcpu_msr(v, false, MSR_IA32_TSC, &val)) {
		e[n].index = MSR_IA32_TSC;
		e[n++].data = val;
	}
	for (uint32_t i = 0; i < caps->nmsr_index; i++) {
		uint32_t idx = caps->msr_index[i];

		if (idx != MSR_IA32_TSC && vcpu_msr(v, false, idx, &val)) {
			e[n].index = idx;
			e[n++].data = val;
		}
	}
	snap_put_u32(w, n);
	for (uint32_t i = 0; i < n; i++) {
		snap_put_u32(w, e[i].index);
		snap_put_u64(w, e[i].data);
	}
	free(e);
	return 0;
}

/* The table ember gave the vCPU (KVM_GET_CPUID2 is not in every KVM, and
 * not every one returns what it was given). */
static int save_cpuid(struct vcpu *v, struct snap_w *w)
{
	struct kvm_cpuid2 *c = vcpu_cpuid_table(v);

	if (!c)
		return -ENOMEM;
	if (c->nent > VCPU_STATE_MAX_CPUID) {
		uint32_t n = c->nent;

		free(c);
		return ember_seterr(-E2BIG, "vCPU %u: %u CPUID entries", v->id, n);
	}
	snap_put_u32(w, c->nent);
	for (uint32_t i = 0; i < c->nent; i++)
		put_blob(w, &c->entries[i], sizeof(c->entries[i]));
	free(c);
	return 0;
}

int vcpu_state_save(struct vcpu *v, const struct vcpu_caps *caps, struct snap_w *w)
{
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev;
	struct kvm_debugregs dbg;
	int khz, err;

	memset(&ev, 0, sizeof(ev));
	err = get_ioctl(v, KVM_GET_MP_STATE, &mp, "KVM_GET_MP_STATE");
	if (!err)
		err = get_ioctl(v, KVM_GET_REGS, &regs, "KVM_GET_REGS");
	if (!err)
		err = get_ioctl(v, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
	if (!err)
		err = get_ioctl(v, KVM_GET_LAPIC, &lapic, "KVM_GET_LAPIC");
	if (!err)
		err = get_ioctl(v, KVM_GET_VCPU_EVENTS, &ev, "KVM_GET_VCPU_EVENTS");
	if (!err)
		err = get_ioctl(v, KVM_GET_DEBUGREGS, &dbg, "KVM_GET_DEBUGREGS");
	if (err)
		return err;
	snap_begin(w, SNAP_TAG('V', 'C', 'P', 'U'), v->id);
	snap_put_u32(w, v->id);
	put_blob(w, &mp, sizeof(mp));
	put_blob(w, &regs, sizeof(regs));
	put_blob(w, &sregs, sizeof(sregs));
	if (caps->xsave_size) {
		uint8_t *x = calloc(1, caps->xsave_size);

		if (!x)
			return -ENOMEM;
		err = get_ioctl(
		    v, caps->xsave_size > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE,
		    x, "KVM_GET_XSAVE");
		if (!err)
			put_blob(w, x, caps->xsave_size);
		free(x);
	} else {
		struct kvm_fpu fpu;

		err = get_ioctl(v, KVM_GET_FPU, &fpu, "KVM_GET_FPU");
		snap_put_u32(w, 0);
		put_blob(w, &fpu, sizeof(fpu));
	}
	if (err)
		return err;
	snap_put_u8(w, caps->xcrs);
	if (caps->xcrs) {
		struct kvm_xcrs xcrs;

		err = get_ioctl(v, KVM_GET_XCRS, &xcrs, "KVM_GET_XCRS");
		if (err)
			return err;
		put_blob(w, &xcrs, sizeof(xcrs));
	}
	put_blob(w, &lapic, sizeof(lapic));
	err = save_msrs(v, caps, w);
	if (err)
		return err;
	put_blob(w, &ev, sizeof(ev));
	put_blob(w, &dbg, sizeof(dbg));
	khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	snap_put_u32(w, khz > 0 ? (uint32_t)khz : 0);
	return save_cpuid(v, w);
}

/* --- parse ------------------------------------------------------------------ */

static void get_blob(struct snap_r *r, void *dst, uint32_t n)
{
	if (snap_get_u32(r) != n)
		r->err = -EINVAL;
	snap_get(r, dst, n);
}

void vcpu_state_free(struct vcpu_state *st)
{
	free(st->xsave);
	free(st->msrs);
	free(st->cpuid);
	memset(st, 0, sizeof(*st));
}

int vcpu_state_parse(const struct snap_section *s, struct vcpu_state *st)
{
	struct snap_r r;

	memset(st, 0, sizeof(*st));
	snap_r_init(&r, s->data, s->len);
	st->id = snap_get_u32(&r);
	get_blob(&r, &st->mp, sizeof(st->mp));
	get_blob(&r, &st->regs, sizeof(st->regs));
	get_blob(&r, &st->sregs, sizeof(st->sregs));
	st->xsave_len = snap_get_u32(&r);
	if (r.err || st->id != s->instance)
		goto bad;
	if (st->xsave_len) {
		if (st->xsave_len < sizeof(struct kvm_xsave) ||
		    st->xsave_len > VCPU_STATE_MAX_XSAVE || st->xsave_len % 4)
			goto bad;
		st->xsave = malloc(st->xsave_len);
		if (!st->xsave)
			return -ENOMEM;
		snap_get(&r, st->xsave, st->xsave_len);
	} else {
		get_blob(&r, &st->fpu, sizeof(st->fpu));
	}
	st->has_xcrs = snap_get_bool(&r);
	if (st->has_xcrs)
		get_blob(&r, &st->xcrs, sizeof(st->xcrs));
	get_blob(&r, &st->lapic, sizeof(st->lapic));
	st->nmsrs = snap_get_u32(&r);
	if (r.err || st->nmsrs > VCPU_STATE_MAX_MSRS + 1 ||
	    (st->has_xcrs && st->xcrs.nr_xcrs > KVM_MAX_XCRS))
		goto bad;
	st->msrs = calloc(st->nmsrs + 1, sizeof(*st->msrs));
	if (!st->msrs)
		return -ENOMEM;
	for (uint32_t i = 0; i < st->nmsrs; i++) {
		st->msrs[i].index = snap_get_u32(&r);
		st->msrs[i].data = snap_get_u64(&r);
	}
	get_blob(&r, &st->events, sizeof(st->events));
	get_blob(&r, &st->debugregs, sizeof(st->debugregs));
	st->tsc_khz = snap_get_u32(&r);
	st->ncpuid = snap_get_u32(&r);
	if (r.err || st->ncpuid == 0 || st->ncpuid > VCPU_STATE_MAX_CPUID)
		goto bad;
	st->cpuid = calloc(st->ncpuid, sizeof(*st->cpuid));
	if (!st->cpuid)
		return -ENOMEM;
	for (uint32_t i = 0; i < st->ncpuid; i++)
		get_blob(&r, &st->cpuid[i], sizeof(st->cpuid[i]));
	if (snap_r_end(&r))
		goto bad;
	return 0;
bad:
	return ember_seterr(-EINVAL, "vCPU %u state: damaged or of another layout", s->instance);
}

/* --- CPU features ------------------------------------------------------------ */

static const struct kvm_cpuid_entry2 *find_leaf(const struct kvm_cpuid_entry2 *e, uint32_t n,
						uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < n; i++)
		if (e[i].function == fn &&
		    (!(e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e[i].index == idx))
			return &e[i];
	return NULL;
}

int vcpu_state_check_cpuid(const struct vcpu_state *st, const struct kvm_cpuid2 *host)
{
	/* The feature leaves a guest kernel decides by; ember's own bits in
	 * them (hypervisor, x2APIC, TSC deadline, the APIC ID) KVM offers or
	 * emulates. */
	static const struct {
		uint32_t fn, idx;
		unsigned reg; /* 0 eax 1 ebx 2 ecx 3 edx */
		uint32_t ignore;
		const char *name;
	} feat[] = {
		{ 1, 0, 2, (1u << 31) | (1u << 21) | (1u << 24) | (1u << 27), "1.ecx" },
		{ 1, 0, 3, 1u << 28, "1.edx" }, /* HTT: ember sets it for SMP */
		{ 7, 0, 1, 0, "7.ebx" },
		{ 7, 0, 2, 0, "7.ecx" },
		{ 7, 0, 3, 0, "7.edx" },
		{ 0xd, 1, 0, 0, "0xd.1.eax" },
		{ 0x80000001, 0, 2, 0, "0x80000001.ecx" },
		{ 0x80000001, 0, 3, 0, "0x80000001.edx" },
	};

	for (unsigned i = 0; i < ARRAY_SIZE(feat); i++) {
		const struct kvm_cpuid_entry2 *g =
		    find_leaf(st->cpuid, st->ncpuid, feat[i].fn, feat[i].idx);
		const struct kvm_cpuid_entry2 *h =
		    find_leaf(host->entries, host->nent, feat[i].fn, feat[i].idx);
		uint32_t gv, hv;

		if (!g)
			continue;
		gv = (&g->eax)[feat[i].reg] & ~feat[i].ignore;
		hv = h ? (&h->eax)[feat[i].reg] : 0;
		if (gv & ~hv)
			return ember_seterr(
			    -ENOTSUP,
			    "this host lacks CPU features the snapshot's guest uses "
			    "(CPUID %s bits 0x%x)",
			    feat[i].name, gv & ~hv);
	}
	return 0;
}

/* --- apply ------------------------------------------------------------------- */

static int set_ioctl(struct vcpu *v, unsigned long req, const void *arg, const char *name)
{
	if (ioctl(v->fd, req, arg) < 0)
		return ember_seterr(-errno, "vCPU %u: KVM refused the %s: %s", v->id, name,
				    strerror(errno));
	return 0;
}

static int set_cpuid(struct vcpu *v, const struct vcpu_state *st)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + st->ncpuid * sizeof(c->entries[0]));
	int err;

	if (!c)
		return -ENOMEM;
	c->nent = st->ncpuid;
	memcpy(c->entries, st->cpuid, st->ncpuid * sizeof(c->entries[0]));
	err = set_ioctl(v, KVM_SET_CPUID2, c, "CPUID table");
	free(c);
	return err;
}

static int set_msrs(struct vcpu *v, const struct vcpu_state *st)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + st->nmsrs * sizeof(m->entries[0]));
	int r;

	if (!m)
		return -ENOMEM;
	m->nmsrs = st->nmsrs;
	memcpy(m->entries, st->msrs, st->nmsrs * sizeof(m->entries[0]));
	r = ioctl(v->fd, KVM_SET_MSRS, m);
	free(m);
	if (r < 0)
		return ember_seterr(-errno, "vCPU %u: KVM_SET_MSRS: %s", v->id, strerror(errno));
	if ((uint32_t)r != st->nmsrs)
		return ember_seterr(-ENOTSUP, "vCPU %u: KVM refused MSR 0x%x (value 0x%llx)", v->id,
				    st->msrs[r].index, (unsigned long long)st->msrs[r].data);
	return 0;
}

int vcpu_state_apply(struct vcpu *v, const struct vcpu_caps *caps, const struct vcpu_state *st)
{
	int err = set_cpuid(v, st);

	if (!err && st->tsc_khz) {
		int cur = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);

		if (cur > 0 && (uint32_t)cur != st->tsc_khz) {
			if (!caps->tsc_control)
				return ember_seterr(-ENOTSUP,
						    "the snapshot's TSC runs at %u kHz, this "
						    "host's at %d kHz, and KVM cannot scale it",
						    st->tsc_khz, cur);
			err = set_ioctl(v, KVM_SET_TSC_KHZ, (void *)(uintptr_t)st->tsc_khz,
					"TSC frequency");
		}
	}
	if (!err)
		err = set_ioctl(v, KVM_SET_SREGS, &st->sregs, "special registers");
	if (!err)
		err = set_ioctl(v, KVM_SET_REGS, &st->regs, "registers");
	if (!err && st->xsave_len) {
		if (st->xsave_len > caps->xsave_size && caps->xsave_size)
			return ember_seterr(-ENOTSUP,
					    "the snapshot's XSAVE area is %u bytes, this host's "
					    "%u",
					    st->xsave_len, caps->xsave_size);
		if (!caps->xsave_size)
			return ember_seterr(-ENOTSUP, "the snapshot needs XSAVE, this host's KVM "
						      "has none");
		/* KVM_SET_XSAVE reads as many bytes as KVM_CAP_XSAVE2 said:
		 * hand it a buffer of that size. */
		uint8_t *x = calloc(1, caps->xsave_size);

		if (!x)
			return -ENOMEM;
		memcpy(x, st->xsave, st->xsave_len);
		err = set_ioctl(v, KVM_SET_XSAVE, x, "XSAVE area");
		free(x);
	} else if (!err) {
		err = set_ioctl(v, KVM_SET_FPU, &st->fpu, "FPU state");
	}
	if (!err && st->has_xcrs) {
		if (!caps->xcrs)
			return ember_seterr(-ENOTSUP,
					    "the snapshot has XCRs, this host's KVM none");
		err = set_ioctl(v, KVM_SET_XCRS, &st->xcrs, "XCRs");
	}
	if (!err)
		err = set_ioctl(v, KVM_SET_LAPIC, &st->lapic, "local APIC");
	if (!err)
		err = set_msrs(v, st);
	if (!err)
		err = set_ioctl(v, KVM_SET_DEBUGREGS, &st->debugregs, "debug registers");
	if (!err)
		err = set_ioctl(v, KVM_SET_MP_STATE, &st->mp, "MP state");
	if (!err)
		err = set_ioctl(v, KVM_SET_VCPU_EVENTS, &st->events, "pending events");
	return err;
}
