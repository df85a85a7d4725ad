/**
 * Views of the kernel state as {@link InspectNode} trees: IOMMU groups, devices, processes and
 * their fds, VFIO containers and groups, iommufd objects, domains with their page tables, KVM.
 */

import { describeDomain } from '../iommu/domain.js';
import { describeOwner, kernelDriverUsers } from '../iommu/core.js';
import type { IoPageTable, PageTableEntryView, PageTableView } from '../iommu/pgtable/types.js';
import type { Device, IommuDomain, IommuGroup, KernelState, OpenFile, Process } from '../state.js';
import { NO_DOMAIN } from '../state.js';
import { formatSize, hex } from '../u64.js';
import { findVfioGroupByIommuGroup } from '../vfio/vfio-main.js';
import { branch, leaf, type InspectNode } from './tree.js';

/**
 * The IOVA range a node stands for (a page-table entry, a mapping), in an address space named as
 * memory references name it (`domain:3`, `container:1`): what a debugger watches for changes.
 */
export interface IovaRange {
    readonly space: string;
    readonly start: bigint;
    /** Inclusive. */
    readonly last: bigint;
}

/** A node standing for an IOVA range. */
export interface IovaRangeNode extends InspectNode {
    readonly iova: IovaRange;
}

/** The IOVA range a node stands for, if any. */
export function iovaRangeOf(node: InspectNode): IovaRange | undefined {
    return 'iova' in node ? (node as IovaRangeNode).iova : undefined;
}

export function deviceLabel(d: Device): string {
    return d.devName === d.name ? d.name : `${d.devName} (${d.name})`;
}

/** Viable as `VFIO_GROUP_GET_STATUS` says it, and why not. */
export function groupViability(k: KernelState, g: IommuGroup): { viable: boolean; why?: string } {
    if (g.owner_cnt === 0) {
        return { viable: true };
    }
    if (g.owner) {
        return { viable: false, why: `owned by ${describeOwner(g.owner)}` };
    }
    const users = kernelDriverUsers(k, g);
    return { viable: false, why: users.map((d) => `${deviceLabel(d)} is bound to ${d.driver}`).join(', ') };
}

function domainSummary(k: KernelState, id: number): string {
    if (id === NO_DOMAIN) {
        return 'none (made by VFIO)';
    }
    const d = k.domains.get(id);
    return d ? describeDomain(d) : `domain ${id}`;
}

export function groupNode(k: KernelState, g: IommuGroup): InspectNode {
    const via = groupViability(k, g);
    const vfio = findVfioGroupByIommuGroup(k, g.id);
    const summary = `${g.devices.length} device${g.devices.length === 1 ? '' : 's'}, ${via.viable ? 'viable' : 'not viable'}`;
    return branch(`group ${g.id}`, summary, () => [
        branch('devices', g.devices.join(', '), () => g.devices.map((n) => {
            const d = k.devices.get(n)!;
            return leaf(deviceLabel(d), d.driver ?? 'no driver', 'device');
        })),
        leaf('viable', via.viable ? 'yes' : `no: ${via.why}`),
        leaf('owner', g.owner ? describeOwner(g.owner) : g.owner_cnt > 0 ? `${g.owner_cnt} kernel driver user${g.owner_cnt > 1 ? 's' : ''}` : 'none'),
        leaf('domain', domainSummary(k, g.domain), 'domain'),
        leaf('default domain', domainSummary(k, g.default_domain)),
        ...(g.iommu ? [leaf('iommu', g.iommu)] : []),
        leaf('vfio node', vfio ? `/dev/vfio/${vfio.type === 'noiommu' ? 'noiommu-' : ''}${g.id}${vfio.openFile !== undefined ? ' (open)' : ''}${vfio.container !== undefined ? `, container ${vfio.container}` : ''}${vfio.iommufd !== undefined ? `, iommufd ${vfio.iommufd}` : ''}` : 'none (no device on a VFIO driver)'),
        ...(g.pasid_array.size > 0 ? [branch('pasids', `${g.pasid_array.size}`, () => [...g.pasid_array.entries()].map(([p, a]) => leaf(`pasid ${p}`, `${domainSummary(k, a.domain)} by ${a.by.kind === 'sva' ? `SVA of ${a.by.process}` : `iommufd ${a.by.ctx}`}`)))] : []),
    ], 'group');
}

export function groupsNode(k: KernelState): InspectNode {
    const groups = [...k.groups.values()].sort((a, b) => a.id - b.id);
    return branch('IOMMU groups', `${groups.length}`, () => groups.map((g) => groupNode(k, g)), 'groups');
}

export function deviceNode(k: KernelState, d: Device): InspectNode {
    const v = k.vfio.devices.get(d.name);
    const node = branch(deviceLabel(d), d.driver ?? 'no driver', () => [
        leaf('driver', d.driver ?? 'none'),
        leaf('group', d.group === undefined ? 'none (no IOMMU)' : `${d.group}`),
        ...(d.group !== undefined ? [leaf('domain', domainSummary(k, k.groups.get(d.group)?.domain ?? NO_DOMAIN))] : []),
        ...(d.iommu ? [leaf('iommu', d.iommu)] : []),
        ...(d.pci ? [leaf('type', d.pci.type), leaf('id', `${d.pci.vendor.toString(16).padStart(4, '0')}:${d.pci.deviceId.toString(16).padStart(4, '0')}`)] : []),
        ...(d.mdev ? [leaf('mdev', `${d.mdev.kind}, parent ${d.mdev.parent}`)] : []),
        leaf('max pasids', `${d.maxPasids}`),
        ...(d.pasids.size > 0 ? [branch('pasid table', `${d.pasids.size} entr${d.pasids.size === 1 ? 'y' : 'ies'}`, () => [...d.pasids.entries()].map(([p, e]) => leaf(`pasid ${p}`, `${e.domain === undefined ? 'blocked' : domainSummary(k, e.domain)}, PGTT ${e.pgtt}${e.ssade ? ', SSADE' : ''}`, 'pasid')))] : []),
        ...(v ? [leaf('vfio', `/dev/vfio/devices/vfio${v.cdevIndex}, open ${v.open_count}, ${v.files} file${v.files === 1 ? '' : 's'}${v.cdevBind ? `, bound to iommufd ${v.cdevBind.ctx} as device ${v.cdevBind.devid}` : ''}${v.unregistering ? ', unregistering' : ''}`)] : []),
        ...(d.noSnoop ? [leaf('no-snoop', 'issues non-coherent DMA')] : []),
    ], 'device');
    // The device's view of memory: what it reads at each IOVA, through its IOMMU.
    return { ...node, memoryReference: `dev:${d.name}` };
}

export function devicesNode(k: KernelState): InspectNode {
    const devs = [...k.devices.values()];
    return branch('devices', `${devs.length}`, () => devs.map((d) => deviceNode(k, d)), 'devices');
}

/** What an open file refers to, in words. */
export function describeOpenFile(k: KernelState, f: OpenFile): string {
    switch (f.kind) {
        case 'vfio-container':
            return `${f.path} (container ${f.object})`;
        case 'vfio-group': {
            const g = k.vfio.groups.get(f.object as number);
            return `${f.path}${g?.container !== undefined ? ` (on container ${g.container})` : ''}`;
        }
        case 'vfio-device': {
            const d = k.devices.get(f.object as string);
            return `VFIO device ${d ? deviceLabel(d) : f.object} (${f.via === 'cdev' ? 'cdev' : 'through its group'})`;
        }
        case 'iommufd':
            return `${f.path} (iommufd ${f.object})`;
        default:
            return f.path;
    }
}

export function fdsNode(k: KernelState, p: Process): InspectNode {
    const fds = [...p.fds.entries()].sort((a, b) => a[0] - b[0]);
    return branch('fds', `${fds.length} open`, () => fds.map(([fd, id]) => {
        const f = k.files.get(id)!;
        return leaf(`${fd}`, describeOpenFile(k, f), 'fd');
    }), 'fds');
}

export function processNode(k: KernelState, p: Process): InspectNode {
    return branch(p.name, p.exited ? 'exited' : `pid ${p.pid}`, () => [
        leaf('pid', `${p.pid}`),
        leaf('uid', `${p.uid}`),
        leaf('capabilities', p.caps === 'all' ? 'all' : p.caps.join(' ') || 'none'),
        leaf('RLIMIT_MEMLOCK', p.memlock === undefined ? '8M (default)' : formatSize(p.memlock)),
        leaf('locked_vm', `${formatSize(p.mm.locked_vm * k.config.pageSize)} (${p.mm.locked_vm} pages)`),
        ...(p.mm.pasid !== undefined ? [leaf('pasid', `${p.mm.pasid}`)] : []),
        fdsNode(k, p),
        {
            name: 'memory', value: `${p.mm.vmas.size} mapping${p.mm.vmas.size === 1 ? '' : 's'}`, kind: 'vmas',
            indexed: {
                count: p.mm.vmas.size,
                get: (start, count) => p.mm.vmas.slice(start, count).map((e) => leaf(`${hex(e.start)}-${hex(e.last)}`, `${formatSize(e.value.length)}, ${e.value.folioSize > k.config.pageSize ? `${formatSize(e.value.folioSize)} huge pages` : '4K pages'}${e.value.backing.kind === 'memfd' ? `, memfd ${e.value.backing.memfd}` : ''}`)),
            },
        },
    ], 'process');
}

export function processesNode(k: KernelState): InspectNode {
    const procs = [...k.processes.values()];
    return branch('processes', `${procs.length}`, () => procs.map((p) => processNode(k, p)), 'processes');
}

export function vfioNode(k: KernelState): InspectNode {
    return branch('vfio', `${k.vfio.containers.size} container${k.vfio.containers.size === 1 ? '' : 's'}, ${k.vfio.groups.size} group${k.vfio.groups.size === 1 ? '' : 's'}`, () => [
        ...[...k.vfio.containers.values()].map((c) => branch(`container ${c.id}`, `${c.iommuDriver ?? 'no IOMMU driver'}, ${c.groups.length} group${c.groups.length === 1 ? '' : 's'}`, () => {
            const t = c.type1;
            const groups = c.groups.map((g) => k.vfio.groups.get(g)?.iommuGroup).join(', ');
            return [
                leaf('groups', groups || 'none'),
                leaf('iommu driver', c.iommuDriver ?? 'none (VFIO_SET_IOMMU not done)'),
                ...(t ? [
                    leaf('version', t.v2 ? 'TYPE1v2' : 'TYPE1'),
                    leaf('domains', t.domains.map((d) => `${d.domain} (groups ${d.groups.join(', ')}${d.enforceCacheCoherency ? ', coherent' : ''})`).join('; ') || 'none'),
                    leaf('iova ranges', t.iovaList.map((r) => `${hex(r.start)}-${hex(r.end)}`).join(', ') || 'none'),
                    leaf('dma_avail', `${t.dma_avail}`),
                    {
                        name: 'mappings', value: `${t.dmaList.size}`, kind: 'mappings',
                        indexed: {
                            count: t.dmaList.size,
                            get: (start: number, count: number) => t.dmaList.slice(start, count).map((e): IovaRangeNode => ({
                                ...leaf(`${hex(e.start)}-${hex(e.last)}`, `vaddr ${hex(e.value.vaddr)} ${e.value.read ? 'R' : ''}${e.value.write ? 'W' : ''}, ${formatSize(e.value.size)}${e.value.pinned > 0n ? `, ${e.value.pinned} pages pinned` : ''}`, 'mapping'),
                                iova: { space: `container:${c.id}`, start: e.start, last: e.last },
                            })),
                        },
                    } satisfies InspectNode,
                ] : []),
            ];
        }, 'container')),
        ...[...k.vfio.groups.values()].map((g) => leaf(`vfio group ${g.iommuGroup ?? '(revoked)'}`, `${g.type}${g.openFile !== undefined ? ', open' : ''}${g.container !== undefined ? `, container ${g.container}` : ''}${g.iommufd !== undefined ? `, iommufd ${g.iommufd}` : ''}, ${g.container_users} container user${g.container_users === 1 ? '' : 's'}`)),
    ], 'vfio');
}

/** One page-table entry as a node; table entries expand into the next level. */
function pteNode(pt: IoPageTable, e: PageTableEntryView, space: string | undefined): InspectNode {
    const perms = `${e.read ? 'R' : '-'}${e.write ? 'W' : '-'}${e.dirty ? ' D' : ''}${e.accessed ? ' A' : ''}`;
    const flags = e.flags.length > 0 ? ` ${e.flags.join(' ')}` : '';
    const range = `${hex(e.iova)}-${hex(e.iova + e.size - 1n)}`;
    const iova = space === undefined ? {} : { iova: { space, start: e.iova, last: e.iova + e.size - 1n } };
    if (e.leaf) {
        return { ...leaf(`[${e.index}] ${range}`, `→ ${hex(e.address)} ${formatSize(e.size)} ${perms}${flags} (${hex(e.raw)})`, 'pte'), ...iova };
    }
    const next = pt.tableAt(e.address);
    return {
        ...tableNode(pt, next!, `[${e.index}] ${range}`, space),
        value: `table ${hex(e.address)} (${next?.present ?? 0} present)${flags} (${hex(e.raw)})`,
        ...iova,
    };
}

function tableNode(pt: IoPageTable, t: PageTableView, name: string, space: string | undefined): InspectNode {
    return {
        name,
        value: `level ${t.level} table ${hex(t.pa)}, ${t.present} of ${t.slots} present`,
        kind: 'pgtable',
        indexed: {
            count: t.present,
            // Present entries only: the k-th present entry is found by scanning slots.
            get: (start, count) => presentEntries(pt, t, start, count).map((e) => pteNode(pt, e, space)),
        },
    };
}

function presentEntries(pt: IoPageTable, t: PageTableView, start: number, count: number): PageTableEntryView[] {
    const all = pt.entries(t, 0, t.slots, true);
    return all.slice(start, start + count);
}

/** A page table level by level; `space` (`domain:3`) names the IOVA space its entries stand for. */
export function pageTableNode(pt: IoPageTable, space?: string): InspectNode {
    const root = pt.root();
    return {
        ...tableNode(pt, root, 'page table', space),
        value: `${pt.config.format}, ${pt.levels} levels, ${formatSize(pt.mappedBytes)} mapped, ${pt.tableCount} table${pt.tableCount === 1 ? '' : 's'} (${formatSize(BigInt(pt.tableBytes))})`,
    };
}

export function domainNode(k: KernelState, d: IommuDomain): InspectNode {
    const users = [...k.groups.values()].filter((g) => g.domain === d.id).map((g) => `group ${g.id}`);
    const pasidUsers = [...k.groups.values()].flatMap((g) => [...g.pasid_array.entries()].filter(([, a]) => a.domain === d.id).map(([p]) => `group ${g.id} pasid ${p}`));
    const node = branch(`domain ${d.id}`, describeDomain(d), () => [
        leaf('type', d.type),
        leaf('iommu', `${d.iommu} (${d.kind})`),
        leaf('owner', d.owner),
        ...(d.format ? [leaf('format', d.format), leaf('page sizes', sizesOf(d.pgsizeBitmap)), leaf('aperture', `${hex(d.aperture.start)}-${hex(d.aperture.end)}`)] : []),
        leaf('attached', [...users, ...pasidUsers].join(', ') || 'nothing'),
        leaf('enforce cache coherency', d.enforceCacheCoherency ? 'yes' : 'no'),
        ...(d.dirtyOps ? [leaf('dirty tracking', d.dirtyTracking ? 'on' : 'off')] : []),
        ...(d.nestParent ? [leaf('nest parent', 'yes')] : []),
        ...(d.parent !== undefined ? [leaf('parent', `domain ${d.parent}`)] : []),
        ...(d.svaProcess ? [leaf('address space', d.svaProcess)] : []),
        ...(d.pgtable ? [{ ...pageTableNode(d.pgtable, `domain:${d.id}`), memoryReference: `domain:${d.id}` }] : []),
    ], 'domain');
    // The domain's IOVA space: what a device attached to it reads at each address.
    return { ...node, memoryReference: `domain:${d.id}` };
}

function sizesOf(bitmap: bigint): string {
    const out: string[] = [];
    for (let b = 0n; b < 64n; b++) {
        if ((bitmap >> b) & 1n) {
            out.push(formatSize(1n << b));
        }
    }
    return out.length > 8 ? `${out.slice(0, 4).join(' ')} ... ${out[out.length - 1]} (${out.length} sizes)` : out.join(' ');
}

export function domainsNode(k: KernelState): InspectNode {
    const doms = [...k.domains.values()].sort((a, b) => a.id - b.id);
    return branch('domains', `${doms.length}`, () => doms.map((d) => domainNode(k, d)), 'domains');
}

export function kvmNode(k: KernelState): InspectNode {
    const vms = [...k.kvm.vms.values()];
    return branch('kvm', `${vms.length} VM${vms.length === 1 ? '' : 's'}`, () => vms.map((vm) => branch(`VM ${vm.id}`, vm.noncoherentDma > 0 ? 'non-coherent DMA: WBINVD emulated' : 'coherent', () => [
        leaf('kvm-vfio device', vm.vfioDevice ? `${vm.vfioDevice.files.length} file${vm.vfioDevice.files.length === 1 ? '' : 's'}: ${vm.vfioDevice.files.map((id) => k.files.get(id)?.path ?? id).join(', ')}` : 'none'),
        leaf('noncoherent DMA', vm.noncoherentDma > 0 ? 'yes: kvm_arch_register_noncoherent_dma, guest WBINVD is executed for real' : 'no'),
    ], 'vm')), 'kvm');
}

/**
 * PASID state: per device, each PASID and what it points at (the device's PASID table, and the
 * group's PASID attachments); the global PASID space and the SVA bonds.
 */
export function pasidsNode(k: KernelState): InspectNode {
    const devices = [...k.devices.values()].filter((d) => d.pasids.size > 0 || (d.group !== undefined && (k.groups.get(d.group)?.pasid_array.size ?? 0) > 0));
    const global = [...k.globalPasids.entries()].sort((a, b) => a[0] - b[0]);
    const bonds = [...k.svaBonds.values()];
    return branch('PASIDs', `${devices.length} device${devices.length === 1 ? '' : 's'} with PASIDs, ${global.length} global`, () => [
        ...devices.map((d) => {
            const attached = d.group === undefined ? [] : [...(k.groups.get(d.group)?.pasid_array.entries() ?? [])];
            return branch(deviceLabel(d), `${d.pasids.size} PASID table entr${d.pasids.size === 1 ? 'y' : 'ies'}, max ${d.maxPasids}`, () => [
                ...[...d.pasids.entries()].sort((a, b) => a[0] - b[0]).map(([p, e]) => leaf(`pasid ${p}`, `${e.domain === undefined ? 'blocked (cleared)' : domainSummary(k, e.domain)}, PGTT ${e.pgtt}${e.ssade ? ', SSADE' : ''}`, 'pasid')),
                ...(attached.length > 0 ? [branch(`group ${d.group} attachments`, `${attached.length}`, () => attached.map(([p, a]) => leaf(`pasid ${p}`, `${domainSummary(k, a.domain)} by ${a.by.kind === 'sva' ? `SVA of ${a.by.process}` : `iommufd ${a.by.ctx}`}`, 'pasid')))] : []),
            ], 'device');
        }),
        branch('global PASID space', global.length === 0 ? 'none allocated' : `${global.length} allocated`, () => global.map(([p, holder]) => leaf(`pasid ${p}`, `mm of ${holder}`, 'pasid')), 'pasids'),
        ...(bonds.length > 0 ? [branch('SVA bonds', `${bonds.length}`, () => bonds.map((b) => leaf(`${b.device} ↔ ${b.process}`, `pasid ${b.pasid}, domain ${b.domain}, ${b.users} user${b.users === 1 ? '' : 's'}`, 'sva')))] : []),
    ], 'pasids');
}

/** The whole kernel, top level as the debugger's scopes show it. */
export function kernelNodes(k: KernelState): InspectNode[] {
    return [groupsNode(k), devicesNode(k), processesNode(k), vfioNode(k), domainsNode(k), kvmNode(k)];
}
