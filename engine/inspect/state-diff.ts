/**
 * What a step changed in the kernel, in words: a short list of lines, one per object that
 * changed, comparing the states before and after its tick ("group 2: owner → VFIO group 1,
 * domain → blocking domain 5", "container 1: +1 mapping [0x0, 0x3fffffff]", "nic0: driver
 * ixgbe → none"). States share structure (immer), so unchanged subsystems are skipped by
 * reference and the diff costs what changed. Pure engine data: hovers, the CLI and the
 * debugger may all show it.
 */

import { describeDomain } from '../iommu/domain.js';
import { describeOwner } from '../iommu/core.js';
import type { IntervalMap } from '../interval-map.js';
import type { IommufdCtx, IommufdObject } from '../iommufd/types.js';
import type { Device, DmaOwner, IommuGroup, KernelState, Process, VfioContainer, VfioDevice, VfioGroup } from '../state.js';
import { NO_DOMAIN } from '../state.js';
import { formatSize, hex } from '../u64.js';
import { deviceLabel, describeOpenFile } from './kernel-views.js';

/** Options of {@link diffKernelStates}. */
export interface StateDiffOptions {
    /** At most this many lines (the last says how many more changed); default 24. */
    readonly maxLines?: number;
    /** New kernel log lines are listed too (default true). */
    readonly log?: boolean;
}

/** The changes from `before` to `after`, one line per changed object, in a stable order. */
export function diffKernelStates(before: KernelState, after: KernelState, options: StateDiffOptions = {}): string[] {
    if (before === after) {
        return [];
    }
    const lines: string[] = [];
    diffDevices(before, after, lines);
    diffGroups(before, after, lines);
    diffDomains(before, after, lines);
    diffProcesses(before, after, lines);
    diffVfio(before, after, lines);
    diffIommufd(before, after, lines);
    diffKvm(before, after, lines);
    diffSva(before, after, lines);
    if (options.log ?? true) {
        diffLog(before, after, lines);
    }
    const max = options.maxLines ?? 24;
    return lines.length > max ? [...lines.slice(0, max - 1), `… and ${lines.length - max + 1} more changes`] : lines;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** `label: a, b` when there is anything to say. */
function push(lines: string[], label: string, changes: readonly string[]): void {
    if (changes.length > 0) {
        lines.push(`${label}: ${changes.join(', ')}`);
    }
}

/** `what old → new`, or `what → new` when there was nothing before. */
function change(what: string, from: string | undefined, to: string | undefined): string {
    if (from === undefined || from === '') {
        return `${what} → ${to ?? 'none'}`;
    }
    return `${what} ${from} → ${to ?? 'none'}`;
}

/** Keys of two maps: those only in `a`, only in `b`, and in both with a different value. */
function mapDiff<K, V>(a: ReadonlyMap<K, V>, b: ReadonlyMap<K, V>): { removed: K[]; added: K[]; changed: K[] } {
    const removed: K[] = [];
    const added: K[] = [];
    const changed: K[] = [];
    if (a === b) {
        return { removed, added, changed };
    }
    for (const [key, value] of a) {
        if (!b.has(key)) {
            removed.push(key);
        } else if (b.get(key) !== value) {
            changed.push(key);
        }
    }
    for (const key of b.keys()) {
        if (!a.has(key)) {
            added.push(key);
        }
    }
    return { removed, added, changed };
}

/** `[0x0, 0x3fffffff]` */
function interval(start: bigint, last: bigint): string {
    return `[${hex(start)}, ${hex(last)}]`;
}

/** Entries of `b` not in `a` and of `a` not in `b`, by start and value identity. */
function intervalDiff<V>(a: IntervalMap<V> | undefined, b: IntervalMap<V> | undefined): { added: Array<{ start: bigint; last: bigint }>; removed: Array<{ start: bigint; last: bigint }> } {
    const added: Array<{ start: bigint; last: bigint }> = [];
    const removed: Array<{ start: bigint; last: bigint }> = [];
    if (a === b) {
        return { added, removed };
    }
    const before = new Map<bigint, { last: bigint; value: V }>();
    for (const e of a?.entries() ?? []) {
        before.set(e.start, { last: e.last, value: e.value });
    }
    for (const e of b?.entries() ?? []) {
        const old = before.get(e.start);
        if (old && old.last === e.last && old.value === e.value) {
            before.delete(e.start);
        } else {
            added.push({ start: e.start, last: e.last });
            if (old) {
                removed.push({ start: e.start, last: old.last });
                before.delete(e.start);
            }
        }
    }
    for (const [start, old] of before) {
        removed.push({ start, last: old.last });
    }
    removed.sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
    return { added, removed };
}

/** `+1 mapping [0x0, 0xfff]`, `-2 mappings [...], [...]`. */
function countedRanges(sign: '+' | '-', what: string, ranges: ReadonlyArray<{ start: bigint; last: bigint }>): string[] {
    if (ranges.length === 0) {
        return [];
    }
    const shown = ranges.slice(0, 3).map((r) => interval(r.start, r.last)).join(', ');
    const more = ranges.length > 3 ? `, … (${ranges.length - 3} more)` : '';
    return [`${sign}${ranges.length} ${what}${ranges.length === 1 ? '' : 's'} ${shown}${more}`];
}

function domainText(k: KernelState, id: number): string {
    if (id === NO_DOMAIN) {
        return 'none';
    }
    const d = k.domains.get(id);
    return d ? describeDomain(d) : `domain ${id}`;
}

function ownerText(owner: DmaOwner | null): string | undefined {
    return owner ? describeOwner(owner) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Devices, groups, domains

function diffDevices(a: KernelState, b: KernelState, lines: string[]): void {
    const { removed, added, changed } = mapDiff(a.devices, b.devices);
    for (const name of added) {
        const d = b.devices.get(name)!;
        lines.push(`+ device ${deviceLabel(d)}${d.driver ? `, driver ${d.driver}` : ''}${d.group !== undefined ? `, group ${d.group}` : ''}`);
    }
    for (const name of changed) {
        const x = a.devices.get(name)!;
        const y = b.devices.get(name)!;
        const changes: string[] = [];
        if (x.driver !== y.driver) {
            changes.push(`driver ${x.driver ?? 'none'} → ${y.driver ?? 'none'}`);
        }
        if (x.group !== y.group) {
            changes.push(change('group', x.group === undefined ? undefined : `${x.group}`, y.group === undefined ? 'none' : `${y.group}`));
        }
        if (x.pasids !== y.pasids) {
            changes.push(...pasidTableChanges(b, x, y));
        }
        push(lines, y.name, changes);
    }
    for (const name of removed) {
        lines.push(`- device ${deviceLabel(a.devices.get(name)!)}`);
    }
}

function pasidTableChanges(k: KernelState, x: Device, y: Device): string[] {
    const { removed, added, changed } = mapDiff(x.pasids, y.pasids);
    const out: string[] = [];
    for (const p of [...added, ...changed]) {
        const e = y.pasids.get(p)!;
        out.push(`pasid ${p} → ${e.domain === undefined ? 'blocked' : domainText(k, e.domain)}`);
    }
    for (const p of removed) {
        out.push(`pasid ${p} cleared`);
    }
    return out;
}

function diffGroups(a: KernelState, b: KernelState, lines: string[]): void {
    const { removed, added, changed } = mapDiff(a.groups, b.groups);
    for (const id of added) {
        const g = b.groups.get(id)!;
        lines.push(`+ group ${id}: ${g.devices.join(', ')}`);
    }
    for (const id of changed) {
        push(lines, `group ${id}`, groupChanges(a, b, a.groups.get(id)!, b.groups.get(id)!));
    }
    for (const id of removed) {
        lines.push(`- group ${id}`);
    }
}

function groupChanges(a: KernelState, b: KernelState, x: IommuGroup, y: IommuGroup): string[] {
    const out: string[] = [];
    if (x.devices !== y.devices && x.devices.join() !== y.devices.join()) {
        out.push(`devices ${x.devices.join(' ')} → ${y.devices.join(' ')}`);
    }
    if (ownerText(x.owner) !== ownerText(y.owner)) {
        out.push(change('owner', ownerText(x.owner), ownerText(y.owner)));
    }
    if (x.domain !== y.domain) {
        out.push(`domain → ${domainText(b, y.domain)}`);
    }
    if (x.pasid_array !== y.pasid_array) {
        const { removed, added, changed } = mapDiff(x.pasid_array, y.pasid_array);
        for (const p of [...added, ...changed]) {
            out.push(`pasid ${p} → ${domainText(b, y.pasid_array.get(p)!.domain)}`);
        }
        for (const p of removed) {
            out.push(`pasid ${p} detached from ${domainText(a, x.pasid_array.get(p)!.domain)}`);
        }
    }
    return out;
}

function diffDomains(a: KernelState, b: KernelState, lines: string[]): void {
    const { removed, added, changed } = mapDiff(a.domains, b.domains);
    for (const id of added) {
        const d = b.domains.get(id)!;
        lines.push(`+ ${describeDomain(d)}, ${d.owner}`);
    }
    for (const id of changed) {
        const x = a.domains.get(id)!;
        const y = b.domains.get(id)!;
        const out: string[] = [];
        const mappedBefore = x.pgtable?.mappedBytes ?? 0n;
        const mappedAfter = y.pgtable?.mappedBytes ?? 0n;
        if (mappedBefore !== mappedAfter) {
            out.push(`mapped ${formatSize(mappedBefore)} → ${formatSize(mappedAfter)}`);
        }
        if (x.enforceCacheCoherency !== y.enforceCacheCoherency) {
            out.push(`enforce cache coherency ${y.enforceCacheCoherency ? 'on' : 'off'}`);
        }
        if (x.dirtyTracking !== y.dirtyTracking) {
            out.push(`dirty tracking ${y.dirtyTracking ? 'on' : 'off'}`);
        }
        push(lines, `domain ${id}`, out);
    }
    for (const id of removed) {
        lines.push(`- ${describeDomain(a.domains.get(id)!)}`);
    }
}

// ---------------------------------------------------------------------------------------------
// Processes and their files

function diffProcesses(a: KernelState, b: KernelState, lines: string[]): void {
    const { removed, added, changed } = mapDiff(a.processes, b.processes);
    for (const name of added) {
        lines.push(`+ process ${name} (pid ${b.processes.get(name)!.pid})`);
    }
    for (const name of changed) {
        push(lines, name, processChanges(a, b, a.processes.get(name)!, b.processes.get(name)!));
    }
    for (const name of removed) {
        lines.push(`- process ${name}`);
    }
}

function processChanges(a: KernelState, b: KernelState, x: Process, y: Process): string[] {
    const out: string[] = [];
    if (!x.exited && y.exited) {
        out.push('exited');
    }
    const fds = mapDiff(x.fds, y.fds);
    for (const fd of [...fds.added, ...fds.changed].sort((m, n) => m - n)) {
        const f = b.files.get(y.fds.get(fd)!);
        out.push(`fd ${fd} → ${f ? describeOpenFile(b, f) : 'a file'}`);
    }
    for (const fd of fds.removed.sort((m, n) => m - n)) {
        const f = a.files.get(x.fds.get(fd)!);
        out.push(`fd ${fd} closed${f ? ` (${f.path})` : ''}`);
    }
    if (x.mm !== y.mm) {
        const vmas = intervalDiff(x.mm.vmas, y.mm.vmas);
        for (const r of vmas.added) {
            out.push(`+ memory ${interval(r.start, r.last)} (${formatSize(r.last - r.start + 1n)})`);
        }
        for (const r of vmas.removed) {
            out.push(`- memory ${interval(r.start, r.last)}`);
        }
        if (x.mm.locked_vm !== y.mm.locked_vm) {
            out.push(`locked_vm ${formatSize(x.mm.locked_vm * b.config.pageSize)} → ${formatSize(y.mm.locked_vm * b.config.pageSize)}`);
        }
        if (x.mm.pasid !== y.mm.pasid) {
            out.push(change('pasid', x.mm.pasid === undefined ? undefined : `${x.mm.pasid}`, y.mm.pasid === undefined ? 'none' : `${y.mm.pasid}`));
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// VFIO

function diffVfio(a: KernelState, b: KernelState, lines: string[]): void {
    if (a.vfio === b.vfio) {
        return;
    }
    const containers = mapDiff(a.vfio.containers, b.vfio.containers);
    for (const id of containers.added) {
        lines.push(`+ container ${id}`);
    }
    for (const id of containers.changed) {
        push(lines, `container ${id}`, containerChanges(a, b, a.vfio.containers.get(id)!, b.vfio.containers.get(id)!));
    }
    for (const id of containers.removed) {
        lines.push(`- container ${id}`);
    }
    const groups = mapDiff(a.vfio.groups, b.vfio.groups);
    for (const id of groups.added) {
        const g = b.vfio.groups.get(id)!;
        lines.push(`+ VFIO group ${id}${g.iommuGroup !== null ? ` (/dev/vfio/${g.iommuGroup})` : ''}`);
    }
    for (const id of groups.changed) {
        push(lines, `VFIO group ${id}`, vfioGroupChanges(a.vfio.groups.get(id)!, b.vfio.groups.get(id)!));
    }
    for (const id of groups.removed) {
        lines.push(`- VFIO group ${id}`);
    }
    const devices = mapDiff(a.vfio.devices, b.vfio.devices);
    for (const name of devices.added) {
        const v = b.vfio.devices.get(name)!;
        lines.push(`+ VFIO device ${label(b, name)} (/dev/vfio/devices/vfio${v.cdevIndex})`);
    }
    for (const name of devices.changed) {
        push(lines, `VFIO device ${label(b, name)}`, vfioDeviceChanges(a.vfio.devices.get(name)!, b.vfio.devices.get(name)!));
    }
    for (const name of devices.removed) {
        lines.push(`- VFIO device ${label(a, name)}`);
    }
}

function label(k: KernelState, name: string): string {
    const d = k.devices.get(name);
    return d ? deviceLabel(d) : name;
}

function containerChanges(a: KernelState, b: KernelState, x: VfioContainer, y: VfioContainer): string[] {
    const out: string[] = [];
    const groupsOf = (k: KernelState, c: VfioContainer) => c.groups.map((g) => k.vfio.groups.get(g)?.iommuGroup ?? `vfio ${g}`);
    const gx = groupsOf(a, x);
    const gy = groupsOf(b, y);
    const joined = gy.filter((g) => !gx.includes(g));
    const left = gx.filter((g) => !gy.includes(g));
    if (joined.length > 0) {
        out.push(`+group ${joined.join(', ')}`);
    }
    if (left.length > 0) {
        out.push(`-group ${left.join(', ')}`);
    }
    if (x.iommuDriver !== y.iommuDriver) {
        const version = y.type1 ? ` (${y.type1.v2 ? 'TYPE1v2' : 'TYPE1'})` : '';
        out.push(change('iommu', x.iommuDriver, `${y.iommuDriver ?? 'none'}${version}`));
    }
    if (x.fileOpen && !y.fileOpen) {
        out.push('file closed');
    }
    if (x.type1 !== y.type1 && y.type1) {
        const maps = intervalDiff(x.type1?.dmaList, y.type1.dmaList);
        out.push(...countedRanges('+', 'mapping', maps.added), ...countedRanges('-', 'mapping', maps.removed));
        const dx = (x.type1?.domains ?? []).map((d) => d.domain);
        const dy = y.type1.domains.map((d) => d.domain);
        for (const d of dy.filter((id) => !dx.includes(id))) {
            out.push(`+domain ${d}`);
        }
        for (const d of dx.filter((id) => !dy.includes(id))) {
            out.push(`-domain ${d}`);
        }
    }
    return out;
}

function vfioGroupChanges(x: VfioGroup, y: VfioGroup): string[] {
    const out: string[] = [];
    if ((x.openFile === undefined) !== (y.openFile === undefined)) {
        out.push(y.openFile === undefined ? 'closed' : 'opened');
    }
    if (x.container !== y.container) {
        out.push(change('container', x.container === undefined ? undefined : `${x.container}`, y.container === undefined ? 'none' : `${y.container}`));
    }
    if (x.iommufd !== y.iommufd) {
        out.push(change('iommufd', x.iommufd === undefined ? undefined : `${x.iommufd}`, y.iommufd === undefined ? 'none' : `${y.iommufd}`));
    }
    if (x.iommuGroup !== null && y.iommuGroup === null) {
        out.push('unregistered');
    }
    if (x.kvm !== y.kvm) {
        out.push(change('kvm', x.kvm === undefined ? undefined : `VM ${x.kvm}`, y.kvm === undefined ? 'none' : `VM ${y.kvm}`));
    }
    return out;
}

function vfioDeviceChanges(x: VfioDevice, y: VfioDevice): string[] {
    const out: string[] = [];
    if (x.open_count !== y.open_count) {
        out.push(`open_count ${x.open_count} → ${y.open_count}`);
    }
    if (x.cdevBind !== y.cdevBind) {
        out.push(y.cdevBind ? `bound to iommufd ${y.cdevBind.ctx} as device ${y.cdevBind.devid}` : 'unbound from iommufd');
    }
    if (x.attachedPt !== y.attachedPt) {
        out.push(y.attachedPt === undefined ? 'detached' : `attached to ${y.attachedPt}`);
    }
    if (x.pasids !== y.pasids) {
        const { removed, added, changed } = mapDiff(x.pasids, y.pasids);
        for (const p of [...added, ...changed]) {
            out.push(`pasid ${p} attached to ${y.pasids.get(p)}`);
        }
        for (const p of removed) {
            out.push(`pasid ${p} detached`);
        }
    }
    if (!x.unregistering && y.unregistering) {
        out.push('unregistering');
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// iommufd, KVM, SVA, log

function objectText(o: IommufdObject): string {
    switch (o.type) {
        case 'ioas':
            return `IOAS ${o.id}`;
        case 'hwpt_paging':
            return `HWPT ${o.id} (paging, domain ${o.domain}, on IOAS ${o.ioas}${o.auto ? ', auto' : ''})`;
        case 'hwpt_nested':
            return `HWPT ${o.id} (nested, domain ${o.domain}, parent ${o.parent})`;
        case 'device':
            return `device ${o.id} (${o.device})`;
        case 'access':
            return `access ${o.id} (${o.device})`;
        default:
            return `${o.type} ${o.id}`;
    }
}

function diffIommufd(a: KernelState, b: KernelState, lines: string[]): void {
    const { removed, added, changed } = mapDiff(a.iommufd.ctxs, b.iommufd.ctxs);
    for (const id of added) {
        lines.push(`+ iommufd ${id}`);
        ctxObjectChanges(undefined, b.iommufd.ctxs.get(id)!, lines);
    }
    for (const id of changed) {
        ctxObjectChanges(a.iommufd.ctxs.get(id)!, b.iommufd.ctxs.get(id)!, lines);
    }
    for (const id of removed) {
        lines.push(`- iommufd ${id}`);
    }
}

function ctxObjectChanges(x: IommufdCtx | undefined, y: IommufdCtx, lines: string[]): void {
    const prefix = `iommufd ${y.id}`;
    const { removed, added, changed } = mapDiff(x?.objects ?? new Map<number, IommufdObject>(), y.objects);
    for (const id of added) {
        lines.push(`${prefix}: + ${objectText(y.objects.get(id)!)}`);
    }
    for (const id of changed) {
        const before = x!.objects.get(id)!;
        const after = y.objects.get(id)!;
        if (before.type === 'ioas' && after.type === 'ioas' && before.iopt.areas !== after.iopt.areas) {
            const areas = intervalDiff(before.iopt.areas, after.iopt.areas);
            push(lines, `${prefix}: IOAS ${id}`, [...countedRanges('+', 'area', areas.added), ...countedRanges('-', 'area', areas.removed)]);
        } else if (before.type === 'device' && after.type === 'device' && before.vdevice !== after.vdevice) {
            lines.push(`${prefix}: device ${id}: ${after.vdevice === undefined ? 'vDEVICE destroyed' : `vDEVICE ${after.vdevice}`}`);
        }
    }
    for (const id of removed) {
        lines.push(`${prefix}: - ${objectText(x!.objects.get(id)!)}`);
    }
    if (x && x.groups !== y.groups) {
        for (const [group, g] of y.groups) {
            const old = x.groups.get(group);
            if (old === g) {
                continue;
            }
            for (const [pasid, attach] of g.attach) {
                const was = old?.attach.get(pasid);
                if (!was || was.hwpt !== attach.hwpt) {
                    lines.push(`${prefix}: group ${group}${pasid === 0 ? '' : ` pasid ${pasid}`} attached to ${attach.hwpt}`);
                }
            }
            for (const pasid of old?.attach.keys() ?? []) {
                if (!g.attach.has(pasid)) {
                    lines.push(`${prefix}: group ${group}${pasid === 0 ? '' : ` pasid ${pasid}`} detached`);
                }
            }
        }
    }
}

function diffKvm(a: KernelState, b: KernelState, lines: string[]): void {
    const { removed, added, changed } = mapDiff(a.kvm.vms, b.kvm.vms);
    for (const id of added) {
        lines.push(`+ VM ${id}`);
    }
    for (const id of changed) {
        const x = a.kvm.vms.get(id)!;
        const y = b.kvm.vms.get(id)!;
        const out: string[] = [];
        if (!x.vfioDevice && y.vfioDevice) {
            out.push('+ KVM-VFIO device');
        }
        const fx = x.vfioDevice?.files ?? [];
        const fy = y.vfioDevice?.files ?? [];
        for (const f of fy.filter((id) => !fx.includes(id))) {
            out.push(`+ file ${b.files.get(f)?.path ?? f}`);
        }
        for (const f of fx.filter((id) => !fy.includes(id))) {
            out.push(`- file ${a.files.get(f)?.path ?? f}`);
        }
        if ((x.noncoherentDma > 0) !== (y.noncoherentDma > 0)) {
            out.push(y.noncoherentDma > 0 ? 'non-coherent DMA registered' : 'non-coherent DMA unregistered');
        }
        push(lines, `VM ${id}`, out);
    }
    for (const id of removed) {
        lines.push(`- VM ${id}`);
    }
}

function diffSva(a: KernelState, b: KernelState, lines: string[]): void {
    const { removed, added } = mapDiff(a.svaBonds, b.svaBonds);
    for (const key of added) {
        const bond = b.svaBonds.get(key)!;
        lines.push(`+ SVA bond ${label(b, bond.device)} ↔ ${bond.process}, pasid ${bond.pasid}`);
    }
    for (const key of removed) {
        const bond = a.svaBonds.get(key)!;
        lines.push(`- SVA bond ${label(a, bond.device)} ↔ ${bond.process}`);
    }
}

function diffLog(a: KernelState, b: KernelState, lines: string[]): void {
    if (a.log === b.log || b.log.length <= a.log.length) {
        return;
    }
    for (const line of b.log.slice(a.log.length)) {
        lines.push(`dmesg: ${line}`);
    }
}
