/**
 * Open files and fd tables (`struct file`, `fdtable`): a file is shared by every fd that refers
 * to it (dup, fork, SCM_RIGHTS) and by kernel references (`get_file`), and is released when the
 * last reference goes. Release runs the owning subsystem's `->release`, as `fput` does.
 */

import { fail } from '../errno.js';
import type { FileKind, KernelState, OpenFile, Process } from '../state.js';
import { releaseFile } from './release.js';

/** Creates a `struct file` with no references yet (the caller installs it or takes a reference). */
export function allocFile(k: KernelState, kind: FileKind, path: string, object: number | string, via?: 'group' | 'cdev'): OpenFile {
    const id = k.next.file++;
    const file: OpenFile = { id, kind, path, refs: 0, object, via };
    k.files.set(id, file);
    return file;
}

/** `get_unused_fd_flags` + `fd_install`: the lowest free fd (0–2 are stdio). */
export function fdInstall(k: KernelState, proc: Process, fileId: number): number {
    let fd = 3;
    while (proc.fds.has(fd)) {
        fd++;
    }
    proc.fds.set(fd, fileId);
    getFile(k, fileId).refs++;
    return fd;
}

export function getFile(k: KernelState, fileId: number): OpenFile {
    const f = k.files.get(fileId);
    if (!f) {
        throw new Error(`engine invariant: file ${fileId} does not exist`);
    }
    return f;
}

/** `fdget`: the file behind an fd of the process, or EBADF. */
export function fdget(k: KernelState, proc: Process, fd: bigint, src: string): OpenFile {
    const id = fd >= 0n && fd <= 0x7fff_ffffn ? proc.fds.get(Number(fd)) : undefined;
    if (id === undefined) {
        fail('EBADF', `fd ${fd} is not open in ${proc.name}`, src);
    }
    return getFile(k, id);
}

/** `get_file`: a kernel-held reference. */
export function fileGet(k: KernelState, fileId: number): void {
    getFile(k, fileId).refs++;
}

/** `fput`: drops a reference; the last one releases the file. */
export function fput(k: KernelState, fileId: number): void {
    const f = getFile(k, fileId);
    f.refs--;
    if (f.refs === 0) {
        releaseFile(k, f);
        k.files.delete(fileId);
    }
}

/** `close(fd)`. */
export function sys_close(k: KernelState, proc: Process, fd: bigint): void {
    const file = fdget(k, proc, fd, 'fs/open.c:close_fd');
    proc.fds.delete(Number(fd));
    fput(k, file.id);
}

/** Describes what an fd refers to, for results and debug views. */
export function describeFile(f: OpenFile): string {
    return f.path;
}
