/**
 * Errno names and numbers as userspace sees them on x86-64 Linux, and the error type every
 * simulated kernel path throws. A failure always carries the errno, the reason in words (naming
 * the objects involved) and the kernel source it mirrors.
 */

/** errno values from include/uapi/asm-generic/errno-base.h and errno.h. */
export const ERRNO = {
    EPERM: 1,
    ENOENT: 2,
    ESRCH: 3,
    EINTR: 4,
    EIO: 5,
    ENXIO: 6,
    E2BIG: 7,
    EBADF: 9,
    EAGAIN: 11,
    ENOMEM: 12,
    EACCES: 13,
    EFAULT: 14,
    EBUSY: 16,
    EEXIST: 17,
    EXDEV: 18,
    ENODEV: 19,
    ENOTDIR: 20,
    EISDIR: 21,
    EINVAL: 22,
    ENFILE: 23,
    EMFILE: 24,
    ENOTTY: 25,
    EFBIG: 27,
    ENOSPC: 28,
    ESPIPE: 29,
    EROFS: 30,
    ERANGE: 34,
    EDEADLK: 35,
    ENOSYS: 38,
    ENODATA: 61,
    EOVERFLOW: 75,
    EBADFD: 77,
    EMSGSIZE: 90,
    EOPNOTSUPP: 95,
    EADDRINUSE: 98,
    EADDRNOTAVAIL: 99,
    ETIMEDOUT: 110,
} as const;

export type ErrnoName = keyof typeof ERRNO;

const BY_NUMBER = new Map<number, ErrnoName>(
    (Object.entries(ERRNO) as Array<[ErrnoName, number]>).map(([name, value]) => [value, name]),
);

/** Aliases userspace headers define: same number, another name. */
const ALIASES: Record<string, ErrnoName> = { ENOTSUP: 'EOPNOTSUPP', EWOULDBLOCK: 'EAGAIN', EDEADLOCK: 'EDEADLK' };

export function isErrnoName(name: string): name is ErrnoName {
    return Object.prototype.hasOwnProperty.call(ERRNO, name);
}

/** Resolves an errno written by a user (`EBUSY`, `ENOTSUP`, `16`) to its canonical name. */
export function parseErrno(text: string): ErrnoName | undefined {
    if (isErrnoName(text)) {
        return text;
    }
    if (ALIASES[text]) {
        return ALIASES[text];
    }
    if (/^\d+$/.test(text)) {
        return BY_NUMBER.get(Number(text));
    }
    return undefined;
}

export function errnoNumber(name: ErrnoName): number {
    return ERRNO[name];
}

export function errnoName(value: number): ErrnoName | undefined {
    return BY_NUMBER.get(Math.abs(value));
}

export function allErrnoNames(): ErrnoName[] {
    return Object.keys(ERRNO) as ErrnoName[];
}

/** Where in Linux a rule comes from: `drivers/vfio/group.c` and `vfio_group_ioctl_set_container`. */
export interface KernelSource {
    readonly file: string;
    readonly func?: string;
}

export function formatSource(source: KernelSource): string {
    return source.func ? `${source.file}:${source.func}` : source.file;
}

/**
 * A failed system call, as Linux would fail it. Thrown by engine paths; the syscall layer turns
 * it into a step result. Throwing discards every change the call made to the kernel state, which
 * is what Linux does where it checks before it acts; paths that keep partial effects (IOAS_UNMAP,
 * IOVA_RANGES' EMSGSIZE) return a failure instead of throwing.
 */
export class KernelError extends Error {
    constructor(
        readonly errno: ErrnoName,
        readonly reason: string,
        readonly source: KernelSource,
        /** Out-values the kernel copies back even though the call fails. */
        readonly values?: Readonly<Record<string, bigint>>,
    ) {
        super(`${errno}: ${reason} (${source.file})`);
        this.name = 'KernelError';
    }
}

/** Builds and throws a {@link KernelError}; `src` is `"path/file.c:function"`. */
export function fail(errno: ErrnoName, reason: string, src: string, values?: Record<string, bigint>): never {
    throw new KernelError(errno, reason, parseSource(src), values);
}

export function parseSource(src: string): KernelSource {
    const colon = src.lastIndexOf(':');
    return colon > 0 ? { file: src.slice(0, colon), func: src.slice(colon + 1) } : { file: src };
}

/** The message a user sees: `EPERM: group 7 is not viable: ... (drivers/vfio/group.c)`. */
export function formatKernelError(errno: ErrnoName, reason: string, source?: KernelSource): string {
    return source ? `${errno}: ${reason} (${source.file})` : `${errno}: ${reason}`;
}

/** What a blocked system call waits for (the runner re-checks it after every step). */
export type WaitCondition = { readonly kind: 'vfio-device-released'; readonly device: string };
