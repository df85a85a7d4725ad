/** `/dev/iommu` (drivers/iommu/iommufd/main.c). Being implemented: see engine/iommufd/. */

import { InvalidRequest } from '../syscalls/ioctl.js';
import type { IoctlCall, IoctlOut } from '../syscalls/ioctl-call.js';
import type { KernelState, OpenFile, Process } from '../state.js';

export function iommufd_fops_open(k: KernelState, proc: Process, path: string, asVfioContainer: boolean): OpenFile {
    void k; void proc; void asVfioContainer;
    throw new InvalidRequest(`${path}: iommufd is not modeled by this engine build yet`);
}

export function iommufd_fops_ioctl(k: KernelState, proc: Process, file: OpenFile, call: IoctlCall): IoctlOut {
    void k; void proc; void file;
    throw new InvalidRequest(`${call.def.name}: iommufd is not modeled by this engine build yet`);
}

export function iommufd_fops_release(k: KernelState, file: OpenFile): void {
    void k; void file;
}
