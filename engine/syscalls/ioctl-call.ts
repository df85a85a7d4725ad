/**
 * What an ioctl handler sees and returns: the argument as the kernel would read it from user
 * memory (fields at their sizes, the size field the user wrote, strings, arrays), and what it
 * writes back. Decoding from the uAPI tables happens once, in `engine/syscalls/ioctl.ts`.
 */

import type { IoctlDef } from '../uapi/types.js';
import type { OutValue } from '../step.js';
import type { KernelError } from '../errno.js';

export interface IoctlCall {
    readonly def: IoctlDef;
    /** int (by value) or int-ptr argument. */
    readonly value?: bigint;
    /** string argument (`char *`). */
    readonly string?: string;
    /** The struct size the kernel reads (`argsz`/`size`): the user's override or sizeof. */
    readonly size: bigint;
    /** A struct field as the kernel reads it (0 when the user did not give it). */
    field(name: string): bigint;
    has(name: string): boolean;
    /** Elements of an array field (for ALLOW_IOVAS, HWPT_INVALIDATE...). */
    array(name: string): ReadonlyArray<Readonly<Record<string, bigint>>>;
}

export interface IoctlOut {
    /** The syscall's return value (a new fd, CHECK_EXTENSION's answer); default 0. */
    readonly ret?: bigint;
    /** Struct fields written back (copied only up to the user's size). */
    readonly out?: Readonly<Record<string, bigint>>;
    /** Values that are not struct fields (capability chains, arrays), shown as they are. */
    readonly extra?: Readonly<Record<string, OutValue>>;
    /**
     * The call failed after changing state, and Linux keeps those changes (areas unmapped before
     * the failing one, out-values copied back with EMSGSIZE). Throw a KernelError instead when
     * the failure leaves everything as it was.
     */
    readonly error?: KernelError;
}
