// SPDX-License-Identifier: MIT
#include "bus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

void bus_init(struct bus *bus, const char *name, bool debug)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	bus->debug = debug;
	pthread_mutex_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	pthread_mutex_destroy(&bus->lock);
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque)
{
	uint64_t end;
	unsigned i;

	if (len == 0 || ckd_add(&end, base, len))
		return -EINVAL;
	if (bus->nranges >= BUS_MAX_RANGES)
		return -ENOSPC;
	for (i = 0; i < bus->nranges; i++)
		if (ranges_overlap(base, len, bus->ranges[i].base, bus->ranges[i].len))
			return -EEXIST;
	for (i = bus->nranges; i > 0 && bus->ranges[i - 1].base > base; i--)
		bus->ranges[i] = bus->ranges[i - 1];
	bus->ranges[i] = (struct bus_range){ base, len, ops, opaque };
	bus->nranges++;
	return 0;
}

static const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->nranges;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

static void count_unhandled(struct bus *bus, uint64_t addr, bool write)
{
	unsigned i;

	pthread_mutex_lock(&bus->lock);
	for (i = 0; i < bus->nunhandled; i++)
		if (bus->unhandled[i].addr == addr && bus->unhandled[i].write == write)
			break;
	if (i < bus->nunhandled)
		bus->unhandled[i].count++;
	else if (i < BUS_MAX_UNHANDLED)
		bus->unhandled[bus->nunhandled++] = (struct bus_unhandled){ addr, 1, write };
	else
		bus->unhandled_other++;
	pthread_mutex_unlock(&bus->lock);
}

bool bus_access(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool write)
{
	const struct bus_range *r = bus_find(bus, addr);

	if (r && len <= r->len - (addr - r->base)) {
		if (write) {
			if (r->ops->write)
				r->ops->write(r->opaque, addr - r->base, data, len);
		} else if (r->ops->read) {
			r->ops->read(r->opaque, addr - r->base, data, len);
		} else {
			memset(data, 0xff, len);
		}
		return true;
	}
	if (!write)
		memset(data, 0xff, len);
	if (bus->debug)
		count_unhandled(bus, addr, write);
	return false;
}

void bus_report(struct bus *bus)
{
	if (!bus->debug)
		return;
	pthread_mutex_lock(&bus->lock);
	for (unsigned i = 0; i < bus->nunhandled; i++)
		fprintf(stderr, "ember: debug: unhandled %s %s 0x%" PRIx64 ": %" PRIu64 " times\n",
			bus->name, bus->unhandled[i].write ? "write" : "read",
			bus->unhandled[i].addr, bus->unhandled[i].count);
	if (bus->unhandled_other)
		fprintf(stderr, "ember: debug: %" PRIu64 " more unhandled %s accesses\n",
			bus->unhandled_other, bus->name);
	pthread_mutex_unlock(&bus->lock);
}
