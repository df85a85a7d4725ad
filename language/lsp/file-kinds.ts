/**
 * What kind of file an fd variable holds, read from the statement that binds it, for completion
 * (which ioctls make sense on it) before any run: `open "/dev/vfio/vfio"` is a container,
 * `open vfio-group(x)` a group, `open vfio-device(x)` and `VFIO_GROUP_GET_DEVICE_FD` a device,
 * `/dev/iommu` an iommufd, `/dev/kvm`, `KVM_CREATE_VM` and `KVM_CREATE_DEVICE` KVM files; a
 * `send ... as g` holds what it was sent. The kinds are the engine's `FileKind`s, so the uAPI
 * table's `fileKinds` say which ioctls each accepts.
 */

import type { AstNode } from 'langium';
import type { FileKind } from '../../engine/state.js';
import {
    isIoctlStatement, isLiteralPath, isMemfdStatement, isNameRef, isOpenStatement, isSendStatement, isVfioDevicePath,
    isVfioGroupPath,
} from '../generated/ast.js';

/** Ioctls whose main out-value is a new fd, and the kind of file it is. */
const FD_RETURNING_IOCTLS: Readonly<Record<string, FileKind>> = {
    VFIO_GROUP_GET_DEVICE_FD: 'vfio-device',
    KVM_CREATE_VM: 'kvm-vm',
    KVM_CREATE_DEVICE: 'kvm-device',
};

/** The kind of file opening `path` gives, or undefined for a path that is no device node. */
export function fileKindOfPath(path: string): FileKind | undefined {
    if (path === '/dev/vfio/vfio') {
        return 'vfio-container';
    }
    if (path === '/dev/iommu') {
        return 'iommufd';
    }
    if (path === '/dev/kvm') {
        return 'kvm';
    }
    if (/^\/dev\/vfio\/(?:noiommu-)?\d+$/.test(path)) {
        return 'vfio-group';
    }
    if (/^\/dev\/vfio\/devices\/vfio\d+$/.test(path)) {
        return 'vfio-device';
    }
    return undefined;
}

/** The kind of file a binding holds, or undefined when it is no fd or cannot be told statically. */
export function fileKindOfBinding(binding: AstNode | undefined, hops = 0): FileKind | undefined {
    if (hops > 16) {
        return undefined;
    }
    if (isOpenStatement(binding)) {
        const path = binding.path;
        if (isLiteralPath(path)) {
            return fileKindOfPath(path.path);
        }
        return isVfioGroupPath(path) ? 'vfio-group' : isVfioDevicePath(path) ? 'vfio-device' : undefined;
    }
    if (isIoctlStatement(binding)) {
        return FD_RETURNING_IOCTLS[binding.ioctl];
    }
    if (isMemfdStatement(binding)) {
        return 'memfd';
    }
    if (isSendStatement(binding) && isNameRef(binding.fd)) {
        return fileKindOfBinding(binding.fd.ref.ref, hops + 1);
    }
    return undefined;
}

/** Words for a file kind, for completion details. */
export function describeFileKind(kind: FileKind): string {
    switch (kind) {
        case 'vfio-container': return 'VFIO container';
        case 'vfio-group': return 'VFIO group';
        case 'vfio-device': return 'VFIO device';
        case 'iommufd': return 'iommufd';
        case 'kvm': return '/dev/kvm';
        case 'kvm-vm': return 'KVM VM';
        case 'kvm-device': return 'KVM device';
        default: return kind;
    }
}
