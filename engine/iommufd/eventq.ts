/**
 * Event queue objects (`drivers/iommu/iommufd/eventq.c`): FAULT (page requests of HWPTs
 * allocated with a fault_id) and vEVENTQ (a vIOMMU's events), each with an anonymous fd that
 * holds the object and the iommufd until it is closed.
 */

import { fail } from '../errno.js';
import { allocFile, fdInstall, fileGet, fput } from '../fs/files.js';
import type { KernelState, OpenFile, Process } from '../state.js';
import type { IoctlCall, IoctlOut } from '../syscalls/ioctl-call.js';
import { addObject, getViommu } from './object.js';
import type { IommufdCtx, IommufdFault, IommufdVeventq } from './types.js';

const EVENTQ_C = 'drivers/iommu/iommufd/eventq.c';

/** `<ctx>:<object>`: how an event queue file names its object. */
export function eventqFileObject(ctx: number, id: number): string {
    return `${ctx}:${id}`;
}

function parseFileObject(file: OpenFile): { ctx: number; id: number } {
    const [ctx, id] = String(file.object).split(':').map(Number);
    return { ctx: ctx!, id: id! };
}

/** `iommufd_eventq_init`: the fd holds the object and the iommufd. */
function openEventqFile(k: KernelState, proc: Process, ctx: IommufdCtx, kind: 'fault-queue' | 'veventq', path: string, id: number): { file: OpenFile; fd: number } {
    const file = allocFile(k, kind, path, eventqFileObject(ctx.id, id));
    fileGet(k, ctx.file);
    return { file, fd: fdInstall(k, proc, file.id) };
}

/** IOMMU_FAULT_QUEUE_ALLOC (`iommufd_fault_alloc`): flags → EOPNOTSUPP. */
export function iommufd_fault_alloc(k: KernelState, proc: Process, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    if (call.field('flags') !== 0n) {
        fail('EOPNOTSUPP', 'flags must be 0', `${EVENTQ_C}:iommufd_fault_alloc`);
    }
    const fault = addObject<IommufdFault>(ctx, (id) => ({ id, type: 'fault', file: -1, fileOpen: true }));
    const { file, fd } = openEventqFile(k, proc, ctx, 'fault-queue', 'anon_inode:[iommufd-pgfault]', fault.id);
    ctx.objects.set(fault.id, { ...fault, file: file.id });
    return { out: { out_fault_id: BigInt(fault.id), out_fault_fd: BigInt(fd) } };
}

const VEVENTQ_TYPE_DEFAULT = 0n;

/**
 * IOMMU_VEVENTQ_ALLOC (`iommufd_veventq_alloc`): flags, `__reserved` or type DEFAULT →
 * EOPNOTSUPP; depth 0 → EINVAL; viommu → ENOENT; one queue per type → EEXIST.
 */
export function iommufd_veventq_alloc(k: KernelState, proc: Process, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${EVENTQ_C}:iommufd_veventq_alloc`;
    const type = call.field('type');
    if (call.field('flags') !== 0n || call.field('__reserved') !== 0n || type === VEVENTQ_TYPE_DEFAULT) {
        fail('EOPNOTSUPP', type === VEVENTQ_TYPE_DEFAULT ? 'type IOMMU_VEVENTQ_TYPE_DEFAULT is reserved' : 'flags and __reserved must be 0', src);
    }
    if (call.field('veventq_depth') === 0n) {
        fail('EINVAL', 'veventq_depth is 0', src);
    }
    const viommu = getViommu(ctx, call.field('viommu_id'), src);
    const dup = [...ctx.objects.values()].find((o) => o.type === 'veventq' && o.viommu === viommu.id && BigInt(o.eventType) === type);
    if (dup) {
        fail('EEXIST', `vIOMMU ${viommu.id} already has vEVENTQ ${dup.id} of type ${type}`, src);
    }
    const q = addObject<IommufdVeventq>(ctx, (id) => ({ id, type: 'veventq', viommu: viommu.id, eventType: Number(type), depth: Number(call.field('veventq_depth')), file: -1, fileOpen: true }));
    const { file, fd } = openEventqFile(k, proc, ctx, 'veventq', 'anon_inode:[iommufd-viommu-event]', q.id);
    ctx.objects.set(q.id, { ...q, file: file.id });
    return { out: { out_veventq_id: BigInt(q.id), out_veventq_fd: BigInt(fd) } };
}

/** `iommufd_eventq_fops_release`: the object loses its fd's hold, the iommufd its reference. */
export function iommufd_eventq_release(k: KernelState, file: OpenFile): void {
    const { ctx: ctxId, id } = parseFileObject(file);
    const ctx = k.iommufd.ctxs.get(ctxId);
    const obj = ctx?.objects.get(id);
    if (obj && (obj.type === 'fault' || obj.type === 'veventq')) {
        obj.fileOpen = false;
    }
    if (ctx) {
        fput(k, ctx.file);
    }
}
