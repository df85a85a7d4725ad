/**
 * Executes one evaluated step operation against the kernel state (an immer draft): the system
 * call, sysfs write or device DMA it stands for. Kernel errors become outcomes; blocking calls
 * report what they wait for. Evaluation of expressions happens in the runner.
 */

import { KernelError } from '../errno.js';
import type { ErrnoName, KernelSource, WaitCondition } from '../errno.js';
import { fail } from '../errno.js';
import { allocFile, fdInstall, fdget, sys_close } from '../fs/files.js';
import { exitProcess, forkProcess, sendFile } from '../fs/process.js';
import { deviceDma } from '../iommu/dma.js';
import { GuestTableError, describeSizes, guestMap, guestUnmap, type GuestTableResult } from '../iommu/guest-s1.js';
import { iommu_sva_bind_device, iommu_sva_unbind_device } from '../iommu/sva.js';
import { iommufd_fops_ioctl, iommufd_fops_open } from '../iommufd/main.js';
import { kvm_dev_open, kvm_ioctl } from '../kvm/kvm.js';
import { createMdev, sysfs_bind, sysfs_sriov_numvfs, sysfs_unbind } from '../machine/sysfs.js';
import { memfdCreate, sys_mmap, sys_munmap } from '../mm/memory.js';
import type { KernelState, OpenFile, Process } from '../state.js';
import type { DmaFault, DmaSegment, OutValue, PathExpr } from '../step.js';
import type { MdevKind } from '../machine/spec.js';
import { hex } from '../u64.js';
import { getContainer, vfio_container_ioctl, vfio_container_open } from '../vfio/container.js';
import { vfio_device_ioctl } from '../vfio/device.js';
import { vfio_device_cdev_open } from '../vfio/device-cdev.js';
import { vfio_group_ioctl, vfio_group_open } from '../vfio/group.js';
import { findVfioGroupByIommuGroup, getVfioGroup } from '../vfio/vfio-main.js';
import { InvalidRequest, checkVersion, decodeIoctl, outValues } from './ioctl.js';
import type { IoctlRequest } from './ioctl.js';
import type { IoctlOut } from './ioctl-call.js';

export type EvaluatedOp =
    | { readonly op: 'open'; readonly path: PathExpr }
    | { readonly op: 'close'; readonly fd: bigint }
    | { readonly op: 'ioctl'; readonly fd: bigint; readonly request: IoctlRequest }
    | { readonly op: 'mmap'; readonly size: bigint; readonly hugepage?: bigint; readonly file?: bigint; readonly offset?: bigint }
    | { readonly op: 'munmap'; readonly addr: bigint; readonly length?: bigint }
    | { readonly op: 'memfd'; readonly size: bigint; readonly hugepage?: bigint }
    | { readonly op: 'bind'; readonly device: string; readonly driver: string }
    | { readonly op: 'unbind'; readonly device: string }
    | { readonly op: 'sriov'; readonly device: string; readonly numvfs: bigint }
    | { readonly op: 'mdev'; readonly name: string; readonly parent: string; readonly kind: MdevKind }
    | { readonly op: 'sva-bind'; readonly device: string }
    | { readonly op: 'sva-unbind'; readonly device: string }
    | { readonly op: 'dma'; readonly device: string; readonly dir: 'read' | 'write'; readonly iova: bigint; readonly length: bigint; readonly pasid?: bigint }
    | { readonly op: 'guest-map'; readonly hwpt: bigint; readonly iova: bigint; readonly gpa: bigint; readonly length: bigint; readonly read: boolean; readonly write: boolean }
    | { readonly op: 'guest-unmap'; readonly hwpt: bigint; readonly iova: bigint; readonly length: bigint }
    | { readonly op: 'exit' }
    | { readonly op: 'fork'; readonly child: string }
    | { readonly op: 'send'; readonly fd: bigint; readonly to: string };

export interface OpOutcome {
    readonly outcome: 'ok' | 'errno' | 'fault' | 'blocked' | 'invalid';
    readonly errno?: ErrnoName;
    readonly reason?: string;
    readonly source?: KernelSource;
    readonly ret?: bigint;
    readonly values: Readonly<Record<string, OutValue>>;
    readonly dma?: { readonly segments: readonly DmaSegment[]; readonly fault?: DmaFault };
    readonly waitingFor?: string;
    readonly condition?: WaitCondition;
    /** What `let x = ...` binds. */
    readonly main?: bigint;
}

/** Resolves `vfio-group(dev)`, `vfio-device(dev)` or a literal to a path. */
export function resolvePath(k: KernelState, path: PathExpr): string {
    switch (path.kind) {
        case 'literal':
            return path.path;
        case 'vfio-group': {
            const dev = k.devices.get(path.device);
            if (!dev) {
                fail('ENOENT', `no device ${path.device} exists (yet), so it has no group node`, 'fs/namei.c:path_openat');
            }
            if (dev.group === undefined) {
                fail('ENOENT', `${dev.devName} (${dev.name}) has no IOMMU group${dev.mdev?.kind === 'pasid' ? ' (a PASID slice DMAs with its parent\'s requester ID: open its cdev, vfio-device(' + dev.name + '))' : ''}, so there is no /dev/vfio node for it`, 'drivers/vfio/group.c:vfio_group_find_or_alloc');
            }
            const g = findVfioGroupByIommuGroup(k, dev.group);
            return g?.type === 'noiommu' ? `/dev/vfio/noiommu-${dev.group}` : `/dev/vfio/${dev.group}`;
        }
        case 'vfio-device': {
            const v = k.vfio.devices.get(path.device);
            if (!v) {
                const dev = k.devices.get(path.device);
                fail('ENOENT', dev ? `${dev.devName} (${dev.name}) is not bound to a VFIO driver, so it has no /dev/vfio/devices node` : `no device ${path.device} exists (yet)`, 'fs/namei.c:path_openat');
            }
            return `/dev/vfio/devices/vfio${v.cdevIndex}`;
        }
    }
}

/** `open(2)` of a device node. */
function sys_open(k: KernelState, proc: Process, pathExpr: PathExpr): { fd: number; path: string } {
    const path = resolvePath(k, pathExpr);
    let file: OpenFile;
    let m: RegExpExecArray | null;
    if (path === '/dev/vfio/vfio') {
        if (k.config.params.iommufdVfioContainer) {
            // CONFIG_IOMMUFD_VFIO_CONTAINER: iommufd provides /dev/vfio/vfio.
            file = iommufd_fops_open(k, proc, path, true);
        } else {
            const c = vfio_container_open(k);
            file = allocFile(k, 'vfio-container', path, c.id);
        }
    } else if ((m = /^\/dev\/vfio\/(noiommu-)?(\d+)$/.exec(path))) {
        const g = findVfioGroupByIommuGroup(k, Number(m[2]));
        if (!g || (g.type === 'noiommu') !== !!m[1]) {
            const ig = k.groups.get(Number(m[2]));
            fail('ENOENT', ig
                ? `${path} does not exist: no device of IOMMU group ${m[2]} (${ig.devices.join(', ')}) is bound to a VFIO driver`
                : `${path} does not exist: there is no IOMMU group ${m[2]}`, 'fs/namei.c:path_openat');
        }
        file = vfio_group_open(k, proc, g, path);
    } else if ((m = /^\/dev\/vfio\/devices\/vfio(\d+)$/.exec(path))) {
        const v = [...k.vfio.devices.values()].find((d) => d.cdevIndex === Number(m![1]) && !d.unregistering);
        if (!v) {
            fail('ENOENT', `${path} does not exist`, 'fs/namei.c:path_openat');
        }
        file = vfio_device_cdev_open(k, proc, v, path);
    } else if (path === '/dev/iommu') {
        file = iommufd_fops_open(k, proc, path, false);
    } else if (path === '/dev/kvm') {
        file = kvm_dev_open(k, proc);
    } else {
        fail('ENOENT', `${path} does not exist on this machine`, 'fs/namei.c:path_openat');
    }
    return { fd: fdInstall(k, proc, file.id), path };
}

function sys_ioctl(k: KernelState, proc: Process, fd: bigint, request: IoctlRequest): IoctlOut & { values: Record<string, OutValue>; main?: bigint } {
    const call = decodeIoctl(k, request);
    const file = fdget(k, proc, fd, 'fs/ioctl.c:ksys_ioctl');
    checkVersion(k, call.def);
    let out: IoctlOut;
    switch (file.kind) {
        case 'vfio-container':
            out = vfio_container_ioctl(k, proc, getContainer(k, file.object as number), call);
            break;
        case 'vfio-group':
            out = vfio_group_ioctl(k, proc, getVfioGroup(k, file.object as number), call);
            break;
        case 'vfio-device':
            out = vfio_device_ioctl(k, proc, file, call);
            break;
        case 'iommufd':
        case 'fault-queue':
        case 'veventq':
            out = iommufd_fops_ioctl(k, proc, file, call);
            break;
        case 'kvm':
        case 'kvm-vm':
        case 'kvm-device':
            out = kvm_ioctl(k, proc, file, call);
            break;
        default:
            fail('ENOTTY', `${file.path} has no ioctls`, 'fs/ioctl.c:vfs_ioctl');
    }
    const values = outValues(k, call.def, call, out);
    const mainName = call.def.main;
    const main = mainName === 'ret' ? out.ret ?? 0n : mainName ? values[mainName]?.value : undefined;
    return { ...out, values, main };
}

function ok(values: Record<string, OutValue> = {}, main?: bigint, ret?: bigint): OpOutcome {
    return { outcome: 'ok', values, main, ret };
}

/** The main value a failed call leaves for `let`: -1 for syscall returns, 0 for unwritten out fields. */
function failedMain(op: EvaluatedOp): bigint | undefined {
    switch (op.op) {
        case 'open':
        case 'memfd':
        case 'mmap':
            return -1n;
        case 'ioctl':
            return 0n;
        case 'sva-bind':
            return -1n;
        default:
            return undefined;
    }
}

/**
 * Runs one operation for `proc` against the draft state. A {@link KernelError} or
 * {@link InvalidRequest} propagates (the caller discards the draft: a failed call changes
 * nothing); a handler that fails after changing state, as some Linux paths do, returns its errno
 * in `IoctlOut.error` and its changes are kept.
 */
export function executeOp(k: KernelState, proc: Process, op: EvaluatedOp): OpOutcome {
    return run(k, proc, op);
}

/** The outcome of an operation that threw: errno (state untouched) or an invalid request. */
export function failureOutcome(op: EvaluatedOp, e: unknown): OpOutcome {
    if (e instanceof KernelError) {
        const values: Record<string, OutValue> = {};
        for (const [n, v] of Object.entries(e.values ?? {})) {
            values[n] = { value: v };
        }
        return { outcome: 'errno', errno: e.errno, reason: e.reason, source: e.source, values, main: failedMain(op) };
    }
    if (e instanceof InvalidRequest) {
        return { outcome: 'invalid', reason: e.message, values: {} };
    }
    throw e;
}

function run(k: KernelState, proc: Process, op: EvaluatedOp): OpOutcome {
    switch (op.op) {
        case 'open': {
            const { fd, path } = sys_open(k, proc, op.path);
            return ok({ fd: { value: BigInt(fd), display: `${fd} → ${path}` } }, BigInt(fd), BigInt(fd));
        }
        case 'close':
            sys_close(k, proc, op.fd);
            return ok();
        case 'ioctl': {
            const r = sys_ioctl(k, proc, op.fd, op.request);
            if (r.error) {
                // A failure that keeps what the call did before failing (IOAS_UNMAP, IOVA_RANGES' EMSGSIZE).
                return { outcome: 'errno', errno: r.error.errno, reason: r.error.reason, source: r.error.source, values: r.values, main: failedMain(op) };
            }
            return { outcome: 'ok', values: r.values, main: r.main, ret: r.ret };
        }
        case 'mmap': {
            const memfd = op.file !== undefined ? memfdOf(k, proc, op.file) : undefined;
            const addr = sys_mmap(k, proc, op.size, { hugepage: op.hugepage, memfd, offset: op.offset });
            return ok({ addr: { value: addr, display: hex(addr) } }, addr, addr);
        }
        case 'munmap':
            sys_munmap(k, proc, op.addr, op.length);
            return ok();
        case 'memfd': {
            const memfd = memfdCreate(k, op.size, op.hugepage);
            const file = allocFile(k, 'memfd', `memfd:${memfd.id}`, memfd.id);
            const fd = fdInstall(k, proc, file.id);
            return ok({ fd: { value: BigInt(fd) } }, BigInt(fd), BigInt(fd));
        }
        case 'bind':
            sysfs_bind(k, proc, op.device, op.driver);
            return ok();
        case 'unbind': {
            const r = sysfs_unbind(k, proc, op.device);
            return r.done ? ok() : { outcome: 'blocked', values: {}, waitingFor: r.waitingFor, condition: r.condition };
        }
        case 'sriov': {
            const r = sysfs_sriov_numvfs(k, proc, op.device, op.numvfs);
            return r.done ? ok() : { outcome: 'blocked', values: {}, waitingFor: r.waitingFor, condition: r.condition };
        }
        case 'mdev':
            createMdev(k, proc, op.name, op.parent, op.kind);
            return ok();
        case 'sva-bind': {
            const pasid = iommu_sva_bind_device(k, proc, op.device);
            if (pasid instanceof KernelError) {
                // The bind failed after the mm got its PASID, which it keeps: report, and commit.
                return { outcome: 'errno', errno: pasid.errno, reason: pasid.reason, source: pasid.source, values: {}, main: -1n };
            }
            return ok({ pasid: { value: BigInt(pasid) } }, BigInt(pasid));
        }
        case 'sva-unbind':
            iommu_sva_unbind_device(k, proc, op.device);
            return ok();
        case 'dma': {
            const r = deviceDma(k, op.device, op.dir, op.iova, op.length, op.pasid);
            const first = r.segments[0];
            const values: Record<string, OutValue> = first ? { pa: { value: first.pa, display: hex(first.pa) }, page_size: { value: first.pageSize } } : {};
            if (first?.gpa !== undefined) {
                // Nested: where stage 1 put it in guest-physical memory.
                values.gpa = { value: first.gpa, display: hex(first.gpa) };
            }
            if (r.fault) {
                return { outcome: 'fault', reason: r.fault.message, values, dma: r };
            }
            return { outcome: 'ok', values, dma: r, main: first?.pa, ...(r.warning ? { reason: r.warning } : {}) };
        }
        case 'guest-map':
        case 'guest-unmap':
            return guestTableOp(k, proc, op);
        case 'exit':
            exitProcess(k, proc);
            return ok();
        case 'fork':
            if (k.processes.has(op.child)) {
                throw new InvalidRequest(`a process named ${op.child} already exists`);
            }
            forkProcess(k, proc, op.child);
            return ok();
        case 'send': {
            const file = fdget(k, proc, op.fd, 'net/core/scm.c:scm_fp_copy');
            const to = k.processes.get(op.to);
            if (!to || to.exited) {
                throw new InvalidRequest(`process ${op.to} does not exist or has exited`);
            }
            const fd = sendFile(k, to, file.id);
            return ok({ fd: { value: BigInt(fd) } }, BigInt(fd));
        }
    }
}

/** `guest-map` / `guest-unmap`: the guest writes its stage-1 table (modelled guest memory, no system call). */
function guestTableOp(k: KernelState, proc: Process, op: Extract<EvaluatedOp, { op: 'guest-map' | 'guest-unmap' }>): OpOutcome {
    let r: GuestTableResult;
    try {
        r = op.op === 'guest-map'
            ? guestMap(k, proc, op.hwpt, op.iova, op.gpa, op.length, { read: op.read, write: op.write })
            : guestUnmap(k, proc, op.hwpt, op.iova, op.length);
    } catch (e) {
        if (e instanceof GuestTableError) {
            throw new InvalidRequest(e.message);
        }
        throw e;
    }
    const last = r.root + BigInt(Math.max(r.tables, 1)) * 4096n - 1n;
    const values: Record<string, OutValue> = {
        tables: { value: BigInt(r.tables), display: `${r.tables} table page${r.tables === 1 ? '' : 's'} at GPA ${hex(r.root)}-${hex(last)}` },
        mapped: { value: r.mappedBytes, display: hex(r.mappedBytes) },
    };
    if (r.leafSizes) {
        values.leaves = { value: r.leafSizes[r.leafSizes.length - 1] ?? 0n, display: describeSizes(r.leafSizes) };
    }
    if (r.unmapped !== undefined) {
        values.unmapped = { value: r.unmapped, display: hex(r.unmapped) };
    }
    return ok(values);
}

function memfdOf(k: KernelState, proc: Process, fd: bigint) {
    const file = fdget(k, proc, fd, 'mm/mmap.c:ksys_mmap_pgoff');
    if (file.kind !== 'memfd') {
        fail('ENODEV', `fd ${fd} (${file.path}) cannot be mmapped`, 'mm/mmap.c:do_mmap');
    }
    return k.memfds.get(file.object as number)!;
}
