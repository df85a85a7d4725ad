/**
 * Processes: credentials, limits, fd table and address space. Created from a scenario's
 * `process` declarations, or by `fork`.
 */

import type { ProcessSpec } from '../step.js';
import type { KernelState, MmState, Process } from '../state.js';
import { fdInstall, fileGet, fput } from './files.js';
import { newMm } from '../mm/memory.js';
import { iommu_sva_release_mm } from '../iommu/sva.js';

/** A process as declared; by default root with every capability, as the contract says. */
export function spawnProcess(k: KernelState, spec: ProcessSpec): Process {
    const uid = spec.uid ?? 0;
    // Without an explicit `caps` line, root holds every capability and other users none.
    const caps = spec.caps ? [...spec.caps] : uid === 0 ? 'all' : [];
    const proc: Process = {
        name: spec.name,
        pid: k.next.pid++,
        uid,
        caps,
        memlock: spec.memlock,
        fds: new Map(),
        mm: newMm(),
        exited: false,
    };
    k.processes.set(spec.name, proc);
    return proc;
}

/** `fork`: the child gets copies of the fds (sharing the files) and a copy of the address space. */
export function forkProcess(k: KernelState, parent: Process, childName: string): Process {
    const child: Process = {
        name: childName,
        pid: k.next.pid++,
        uid: parent.uid,
        caps: parent.caps === 'all' ? 'all' : [...parent.caps],
        memlock: parent.memlock,
        fds: new Map(parent.fds),
        // The child's mm starts with the parent's mappings and none of its locked_vm:
        // accounting stays with the parent's mm. Private anonymous memory is copy on write
        // (dup_mmap → copy_page_range): same pages until one side writes or pins them.
        mm: { vmas: cowVmas(parent.mm.vmas), locked_vm: 0n, pinned_vm: 0n, mmapBase: parent.mm.mmapBase },
        exited: false,
    };
    for (const fileId of child.fds.values()) {
        fileGet(k, fileId);
    }
    k.processes.set(childName, child);
    return child;
}

/** The child's VMAs: anonymous ones marked copy-on-write, shared (memfd) ones shared as they are. */
function cowVmas(vmas: MmState['vmas']): MmState['vmas'] {
    let out = vmas;
    for (const e of vmas.toArray()) {
        if (e.value.backing.kind === 'anon') {
            out = out.update(e.start, { ...e.value, cow: true });
        }
    }
    return out;
}

/** `exit`: every fd is closed, in fd order (`close_files`). */
export function exitProcess(k: KernelState, proc: Process): void {
    const fds = [...proc.fds.entries()].sort((a, b) => a[0] - b[0]);
    proc.fds = new Map();
    for (const [, fileId] of fds) {
        fput(k, fileId);
    }
    // The drivers' fds that held SVA bonds are closed, and the mm's PASID is dropped with it.
    iommu_sva_release_mm(k, proc);
    proc.exited = true;
}

/** SCM_RIGHTS: installs the file in another process; returns the new fd there. */
export function sendFile(k: KernelState, to: Process, fileId: number): number {
    return fdInstall(k, to, fileId);
}
