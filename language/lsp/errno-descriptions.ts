/**
 * What each errno means, for hovers and completion: the C library's `strerror()` text and, where
 * the VFIO and iommufd paths give it a typical meaning, one line saying so. Keyed by the engine's
 * errno names, so an errno added to the engine without a description fails to compile.
 */

import type { ErrnoName } from '../../engine/errno.js';

/** `strerror()` text and the usual cause in the IOMMU uAPI. */
export interface ErrnoDescription {
    readonly text: string;
    readonly typical?: string;
}

/** Descriptions by errno name. */
export const ERRNO_DESCRIPTIONS: Readonly<Record<ErrnoName, ErrnoDescription>> = {
    EPERM: { text: 'Operation not permitted', typical: 'a group that is not viable, or a missing capability' },
    ENOENT: { text: 'No such file or directory', typical: 'no such device node, object id or device' },
    ESRCH: { text: 'No such process' },
    EINTR: { text: 'Interrupted system call' },
    EIO: { text: 'Input/output error' },
    ENXIO: { text: 'No such device or address', typical: 'an attribute or region the device does not have' },
    E2BIG: { text: 'Argument list too long', typical: 'a size or count beyond what the kernel accepts' },
    EBADF: { text: 'Bad file descriptor', typical: 'an fd that is not open, or of the wrong kind' },
    EAGAIN: { text: 'Resource temporarily unavailable' },
    ENOMEM: { text: 'Cannot allocate memory', typical: 'pinning beyond RLIMIT_MEMLOCK, or out of IOVA' },
    EACCES: { text: 'Permission denied' },
    EFAULT: { text: 'Bad address', typical: 'a user pointer that is not mapped' },
    EBUSY: { text: 'Device or resource busy', typical: 'already open, attached, in use or owned by someone else' },
    EEXIST: { text: 'File exists', typical: 'an IOVA range that is already mapped' },
    EXDEV: { text: 'Invalid cross-device link' },
    ENODEV: { text: 'No such device', typical: 'no IOMMU behind the device, or an unsupported type' },
    ENOTDIR: { text: 'Not a directory' },
    EISDIR: { text: 'Is a directory' },
    EINVAL: { text: 'Invalid argument', typical: 'a bad flag, size, alignment or state for this call' },
    ENFILE: { text: 'Too many open files in system' },
    EMFILE: { text: 'Too many open files' },
    ENOTTY: { text: 'Inappropriate ioctl for device', typical: 'an ioctl this file (or this kernel version) does not have' },
    EFBIG: { text: 'File too large' },
    ENOSPC: { text: 'No space left on device', typical: 'no free IOVA, or a table or id space is full' },
    ESPIPE: { text: 'Illegal seek' },
    EROFS: { text: 'Read-only file system' },
    ERANGE: { text: 'Numerical result out of range', typical: 'an address beyond the aperture or address width' },
    EDEADLK: { text: 'Resource deadlock avoided' },
    ENOSYS: { text: 'Function not implemented' },
    ENODATA: { text: 'No data available' },
    EOVERFLOW: { text: 'Value too large for defined data type', typical: 'an address range that wraps around' },
    EBADFD: { text: 'File descriptor in bad state' },
    EMSGSIZE: { text: 'Message too long', typical: 'a user array too small for the answer (the count is written back)' },
    EOPNOTSUPP: { text: 'Operation not supported', typical: 'a feature the IOMMU or the device does not have' },
    EADDRINUSE: { text: 'Address already in use', typical: 'an IOVA range that is already mapped or reserved' },
    EADDRNOTAVAIL: { text: 'Cannot assign requested address' },
    ETIMEDOUT: { text: 'Connection timed out' },
};
