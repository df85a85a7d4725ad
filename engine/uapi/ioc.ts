/**
 * ioctl command numbers as `include/uapi/asm-generic/ioctl.h` encodes them (x86, arm64, riscv:
 * 8-bit nr, 8-bit type, 14-bit size, 2-bit direction), and the C scalar sizes of the uAPI.
 */

import type { FieldType } from './types.js';

/** `_IOC_NONE`: no data transfer encoded (read and write below are from userspace's point of view). */
export const IOC_NONE = 0;
/** `_IOC_WRITE`: userspace writes, the kernel reads. */
export const IOC_WRITE = 1;
/** `_IOC_READ`: the kernel writes, userspace reads. */
export const IOC_READ = 2;

const IOC_NRSHIFT = 0;
const IOC_TYPESHIFT = 8;
const IOC_SIZESHIFT = 16;
const IOC_DIRSHIFT = 30;

/** `_IOC(dir, type, nr, size)`; `type` is a character (`';'`) or its code. */
export function ioc(dir: number, type: string | number, nr: number, size: number): number {
    const t = typeof type === 'string' ? type.charCodeAt(0) : type;
    return ((dir << IOC_DIRSHIFT) | (size << IOC_SIZESHIFT) | (t << IOC_TYPESHIFT) | (nr << IOC_NRSHIFT)) >>> 0;
}

/** `_IO(type, nr)`: no argument size encoded (VFIO and iommufd use it for every command). */
export function io(type: string | number, nr: number): number {
    return ioc(IOC_NONE, type, nr, 0);
}

/** `_IOR(type, nr, size)`. */
export function ior(type: string | number, nr: number, size: number): number {
    return ioc(IOC_READ, type, nr, size);
}

/** `_IOW(type, nr, size)`. */
export function iow(type: string | number, nr: number, size: number): number {
    return ioc(IOC_WRITE, type, nr, size);
}

/** `_IOWR(type, nr, size)`. */
export function iowr(type: string | number, nr: number, size: number): number {
    return ioc(IOC_READ | IOC_WRITE, type, nr, size);
}

/** `_IOC_NR(cmd)`. */
export function iocNr(cmd: number): number {
    return (cmd >>> IOC_NRSHIFT) & 0xff;
}

/** `_IOC_TYPE(cmd)`. */
export function iocType(cmd: number): number {
    return (cmd >>> IOC_TYPESHIFT) & 0xff;
}

/** `_IOC_SIZE(cmd)`. */
export function iocSize(cmd: number): number {
    return (cmd >>> IOC_SIZESHIFT) & 0x3fff;
}

/** `_IOC_DIR(cmd)`. */
export function iocDir(cmd: number): number {
    return (cmd >>> IOC_DIRSHIFT) & 0x3;
}

/** `sizeof` of a uAPI scalar on a 64-bit kernel (`ptr` is a `__u64` holding a user pointer). */
export function scalarSize(type: FieldType): number {
    switch (type) {
        case 'u8':
            return 1;
        case 'u16':
            return 2;
        case 'u32':
        case 's32':
            return 4;
        case 'u64':
        case 's64':
        case 'ptr':
            return 8;
    }
}
