/**
 * Processes: credentials, limits, fd table and address space. Created from a scenario's
 * `process` declarations, or by `fork`.
 */

import type { ProcessSpec } from '../step.js';
import type { KernelState, Process } from '../state.js';
import { fdInstall, fileGet, fput } from './files.js';
import { newMm } from '../mm/memory.js';

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
        // The child's mm starts with the parent's mappings (copy on write, same pages until
        // written) and none of its locked_vm: accounting stays with the parent's mm.
        mm: { vmas: parent.mm.vmas, locked_vm: 0n, pinned_vm: 0n, mmapBase: parent.mm.mmapBase },
        exited: false,
    };
    for (const fileId of child.fds.values()) {
        fileGet(k, fileId);
    }
    k.processes.set(childName, child);
    return child;
}

/** `exit`: every fd is closed, in fd order (`close_files`). */
export function exitProcess(k: KernelState, proc: Process): void {
    const fds = [...proc.fds.entries()].sort((a, b) => a[0] - b[0]);
    proc.fds = new Map();
    for (const [, fileId] of fds) {
        fput(k, fileId);
    }
    proc.exited = true;
}

/** SCM_RIGHTS: installs the file in another process; returns the new fd there. */
export function sendFile(k: KernelState, to: Process, fileId: number): number {
    return fdInstall(k, to, fileId);
}
