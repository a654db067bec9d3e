/* SPDX-License-Identifier: MIT */
/*
 * What GET /vm/config carries, compared field by field (unit tests and the
 * fuzz target). Not memcmp: a replaced string leaves its old tail behind its
 * NUL, and removed devices stay in the arrays past the count. Left out, as
 * Firecracker leaves them out of the JSON: logger, metrics, serial, vsock_id.
 */
#ifndef EMBER_TEST_FCJ_EQUAL_H
#define EMBER_TEST_FCJ_EQUAL_H

#include <string.h>

#include "config.h"

static inline bool fcj_bucket_eq(const struct token_bucket_config *a,
				 const struct token_bucket_config *b)
{
	return a->set == b->set &&
	       (!a->set || (a->size == b->size && a->one_time_burst == b->one_time_burst &&
			    a->refill_time_ms == b->refill_time_ms));
}

static inline bool fcj_rl_eq(const struct rate_limiter_config *a,
			     const struct rate_limiter_config *b)
{
	return fcj_bucket_eq(&a->bandwidth, &b->bandwidth) && fcj_bucket_eq(&a->ops, &b->ops);
}

/* NULL when a and b agree, else the name of the first field that differs. */
static inline const char *fcj_diff(const struct ember_config *a, const struct ember_config *b)
{
	if (strcmp(a->kernel, b->kernel))
		return "kernel";
	if (strcmp(a->initrd, b->initrd))
		return "initrd";
	if (strcmp(a->cmdline, b->cmdline))
		return "cmdline";
	if (a->mem_size != b->mem_size)
		return "mem_size";
	if (a->ncpus != b->ncpus || a->smt != b->smt)
		return "ncpus/smt";
	if (a->track_dirty_pages != b->track_dirty_pages || a->huge_pages != b->huge_pages ||
	    a->thp != b->thp)
		return "memory flags";
	if (a->ndisks != b->ndisks || a->root_disk != b->root_disk)
		return "ndisks/root_disk";
	for (unsigned i = 0; i < a->ndisks; i++) {
		const struct disk_config *x = &a->disks[i], *y = &b->disks[i];

		if (strcmp(x->id, y->id) || strcmp(x->path, y->path) ||
		    strcmp(x->partuuid, y->partuuid) || x->ro != y->ro || x->cache != y->cache ||
		    !fcj_rl_eq(&x->rl, &y->rl))
			return "disks[]";
	}
	if (a->nnets != b->nnets)
		return "nnets";
	for (unsigned i = 0; i < a->nnets; i++) {
		const struct net_config *x = &a->nets[i], *y = &b->nets[i];

		if (strcmp(x->id, y->id) || strcmp(x->tap, y->tap) || x->has_mac != y->has_mac ||
		    (x->has_mac && memcmp(x->mac, y->mac, 6)) || x->mtu != y->mtu ||
		    !fcj_rl_eq(&x->rx_rl, &y->rx_rl) || !fcj_rl_eq(&x->tx_rl, &y->tx_rl))
			return "nets[]";
	}
	if (a->vsock.enabled != b->vsock.enabled ||
	    (a->vsock.enabled &&
	     (a->vsock.cid != b->vsock.cid || strcmp(a->vsock.uds, b->vsock.uds))))
		return "vsock";
	if (a->rng.enabled != b->rng.enabled ||
	    (a->rng.enabled && !fcj_rl_eq(&a->rng.rl, &b->rng.rl)))
		return "rng";
	if (a->console != b->console)
		return "console";
	return NULL;
}

#endif
