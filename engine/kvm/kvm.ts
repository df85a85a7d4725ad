/**
 * `/dev/kvm`, VMs and the KVM-VFIO pseudo device (`virt/kvm/kvm_main.c`, `virt/kvm/vfio.c`).
 * What matters to the IOMMU side: VFIO files added to a VM's KVM-VFIO device tell KVM whether an
 * assigned device can DMA without snooping the CPU caches, which decides WBINVD emulation.
 */

import { fail } from '../errno.js';
import { allocFile, fdInstall, fdget, fileGet, fput, getFile } from '../fs/files.js';
import { getDevice, getGroup } from '../iommu/core.js';
import type { IoctlCall, IoctlOut } from '../syscalls/ioctl-call.js';
import type { KernelState, OpenFile, Process } from '../state.js';
import type { KvmVm } from './types.js';

const KVM_MAIN = 'virt/kvm/kvm_main.c';
const KVM_VFIO = 'virt/kvm/vfio.c';

const KVM_API_VERSION = 12n;
const KVM_DEV_TYPE_VFIO = 4n;
const KVM_CREATE_DEVICE_TEST = 1n;
const KVM_DEV_VFIO_FILE = 1n;
const KVM_DEV_VFIO_FILE_ADD = 1n;
const KVM_DEV_VFIO_FILE_DEL = 2n;

export function kvm_dev_open(k: KernelState, proc: Process): OpenFile {
    void proc;
    return allocFile(k, 'kvm', '/dev/kvm', 0);
}

function getVm(k: KernelState, id: number): KvmVm {
    const vm = k.kvm.vms.get(id);
    if (!vm) {
        throw new Error(`engine invariant: VM ${id} does not exist`);
    }
    return vm;
}

export function kvm_ioctl(k: KernelState, proc: Process, file: OpenFile, call: IoctlCall): IoctlOut {
    switch (file.kind) {
        case 'kvm':
            return kvmDevIoctl(k, proc, call);
        case 'kvm-vm':
            return kvmVmIoctl(k, proc, getVm(k, file.object as number), call);
        default:
            return kvmDeviceIoctl(k, proc, file, call);
    }
}

/** `kvm_dev_ioctl`: unknown → EINVAL. */
function kvmDevIoctl(k: KernelState, proc: Process, call: IoctlCall): IoctlOut {
    switch (call.def.name) {
        case 'KVM_GET_API_VERSION':
            return { ret: KVM_API_VERSION };
        case 'KVM_CREATE_VM': {
            const type = call.value ?? 0n;
            if (type !== 0n) {
                fail('EINVAL', `VM type ${type} is not supported here (x86 KVM_X86_DEFAULT_VM is 0)`, `${KVM_MAIN}:kvm_dev_ioctl_create_vm`);
            }
            const id = k.next.vm++;
            const vmFile = allocFile(k, 'kvm-vm', `kvm-vm ${id}`, id);
            k.kvm.vms.set(id, { id, file: vmFile.id, noncoherentDma: 0 });
            return { ret: BigInt(fdInstall(k, proc, vmFile.id)) };
        }
        default:
            fail('EINVAL', `${call.def.name} is not a /dev/kvm ioctl`, `${KVM_MAIN}:kvm_dev_ioctl`);
    }
}

/** `kvm_vm_ioctl`. */
function kvmVmIoctl(k: KernelState, proc: Process, vm: KvmVm, call: IoctlCall): IoctlOut {
    if (call.def.name !== 'KVM_CREATE_DEVICE') {
        fail('ENOTTY', `${call.def.name} is not handled on a VM fd here`, `${KVM_MAIN}:kvm_vm_ioctl`);
    }
    const src = `${KVM_MAIN}:kvm_ioctl_create_device`;
    const type = call.field('type');
    // x86 registers only the VFIO device type (kvm_vfio_ops_init).
    if (type !== KVM_DEV_TYPE_VFIO) {
        fail('ENODEV', `no KVM device type ${type} on this architecture (KVM_DEV_TYPE_VFIO is ${KVM_DEV_TYPE_VFIO})`, src);
    }
    if (call.field('flags') & KVM_CREATE_DEVICE_TEST) {
        return { out: { fd: 0n } };
    }
    if (vm.vfioDevice) {
        fail('EBUSY', `VM ${vm.id} already has a KVM-VFIO device: only one per VM`, `${KVM_VFIO}:kvm_vfio_create`);
    }
    const devFile = allocFile(k, 'kvm-device', `kvm-vfio (VM ${vm.id})`, vm.id);
    vm.vfioDevice = { file: devFile.id, files: [] };
    // The device holds a reference on the VM (kvm_get_kvm).
    fileGet(k, vm.file);
    const fd = fdInstall(k, proc, devFile.id);
    return { out: { fd: BigInt(fd) } };
}

/** `kvm_device_ioctl` → `kvm_vfio_set_attr` / `kvm_vfio_has_attr`. */
function kvmDeviceIoctl(k: KernelState, proc: Process, file: OpenFile, call: IoctlCall): IoctlOut {
    const vm = getVm(k, file.object as number);
    const group = call.field('group');
    const attr = call.field('attr');
    switch (call.def.name) {
        case 'KVM_SET_DEVICE_ATTR':
            if (group !== KVM_DEV_VFIO_FILE) {
                fail('ENXIO', `KVM-VFIO has no attribute group ${group}`, `${KVM_VFIO}:kvm_vfio_set_attr`);
            }
            if (attr === KVM_DEV_VFIO_FILE_ADD) {
                fileAdd(k, proc, vm, call);
            } else if (attr === KVM_DEV_VFIO_FILE_DEL) {
                fileDel(k, proc, vm, call);
            } else {
                fail('ENXIO', `KVM-VFIO has no attribute ${attr} in KVM_DEV_VFIO_FILE`, `${KVM_VFIO}:kvm_vfio_set_file`);
            }
            return {};
        case 'KVM_HAS_DEVICE_ATTR':
            if (group === KVM_DEV_VFIO_FILE && (attr === KVM_DEV_VFIO_FILE_ADD || attr === KVM_DEV_VFIO_FILE_DEL)) {
                return {};
            }
            fail('ENXIO', `KVM-VFIO has no attribute ${group}/${attr}`, `${KVM_VFIO}:kvm_vfio_has_attr`);
        // eslint-disable-next-line no-fallthrough
        case 'KVM_GET_DEVICE_ATTR':
            fail('EPERM', 'the KVM-VFIO device has no get_attr', `${KVM_MAIN}:kvm_device_ioctl_attr`);
        default:
            fail('ENOTTY', `${call.def.name} is not a KVM device ioctl`, `${KVM_MAIN}:kvm_device_ioctl`);
    }
}

/** The fd the attribute's `addr` points at (the language's `file:` field). */
function attrFd(call: IoctlCall): bigint {
    if (!call.has('file') && call.field('addr') === 0n) {
        fail('EFAULT', 'addr points nowhere: no fd to read', `${KVM_VFIO}:kvm_vfio_set_file`);
    }
    return BigInt.asIntN(32, call.has('file') ? call.field('file') : -1n);
}

/** `vfio_file_enforced_coherent`: a group file needs every device of its group to have the capability; a device file, its device. */
function fileEnforcedCoherent(k: KernelState, f: OpenFile): boolean {
    const capable = (name: string) => {
        const d = getDevice(k, name);
        const unit = d.iommu ? k.iommus.get(d.iommu) : undefined;
        return !!unit?.enforceCoherency;
    };
    if (f.kind === 'vfio-group') {
        const g = k.vfio.groups.get(f.object as number);
        if (!g || g.iommuGroup === null) {
            return true;
        }
        return getGroup(k, g.iommuGroup).devices.every(capable);
    }
    return capable(f.object as string);
}

/** `kvm_vfio_update_coherency`. */
function updateCoherency(k: KernelState, vm: KvmVm): void {
    const noncoherent = (vm.vfioDevice?.files ?? []).some((id) => !fileEnforcedCoherent(k, getFile(k, id)));
    vm.noncoherentDma = noncoherent ? 1 : 0;
}

function setKvm(k: KernelState, f: OpenFile, vm: number | undefined): void {
    if (f.kind === 'vfio-group') {
        const g = k.vfio.groups.get(f.object as number);
        if (g) {
            g.kvm = vm;
        }
    } else {
        const v = k.vfio.devices.get(f.object as string);
        if (v) {
            v.kvm = vm;
        }
    }
}

/** `kvm_vfio_file_add`: the KVM-VFIO device keeps a reference on the file. */
function fileAdd(k: KernelState, proc: Process, vm: KvmVm, call: IoctlCall): void {
    const fd = attrFd(call);
    const f = fdget(k, proc, fd, `${KVM_VFIO}:kvm_vfio_file_add`);
    if (f.kind !== 'vfio-group' && f.kind !== 'vfio-device') {
        fail('EINVAL', `fd ${fd} (${f.path}) is neither a VFIO group nor a VFIO device file`, `${KVM_VFIO}:kvm_vfio_file_add`);
    }
    const dev = vm.vfioDevice!;
    if (dev.files.includes(f.id)) {
        fail('EEXIST', `${f.path} is already added to VM ${vm.id}'s KVM-VFIO device`, `${KVM_VFIO}:kvm_vfio_file_add`);
    }
    fileGet(k, f.id);
    dev.files.push(f.id);
    setKvm(k, f, vm.id);
    updateCoherency(k, vm);
}

/** `kvm_vfio_file_del`. */
function fileDel(k: KernelState, proc: Process, vm: KvmVm, call: IoctlCall): void {
    const fd = attrFd(call);
    const f = fdget(k, proc, fd, `${KVM_VFIO}:kvm_vfio_file_del`);
    const dev = vm.vfioDevice!;
    const i = dev.files.indexOf(f.id);
    if (i < 0) {
        fail('ENOENT', `${f.path} was not added to VM ${vm.id}'s KVM-VFIO device`, `${KVM_VFIO}:kvm_vfio_file_del`);
    }
    dev.files.splice(i, 1);
    setKvm(k, f, undefined);
    updateCoherency(k, vm);
    fput(k, f.id);
}

/** Release of /dev/kvm, VM and KVM-VFIO device files. */
export function kvm_release(k: KernelState, file: OpenFile): void {
    if (file.kind === 'kvm') {
        return;
    }
    const vm = k.kvm.vms.get(file.object as number);
    if (!vm) {
        return;
    }
    if (file.kind === 'kvm-device' && vm.vfioDevice) {
        // kvm_vfio_release: drop every added file, then the VM reference the device held.
        const files = vm.vfioDevice.files;
        vm.vfioDevice = undefined;
        vm.noncoherentDma = 0;
        for (const id of files) {
            setKvm(k, getFile(k, id), undefined);
            fput(k, id);
        }
        fput(k, vm.file);
        return;
    }
    if (file.kind === 'kvm-vm') {
        k.kvm.vms.delete(vm.id);
    }
}

/** Whether the VM emulates WBINVD for real (`kvm_arch_has_noncoherent_dma`). */
export function vmHasNoncoherentDma(vm: KvmVm): boolean {
    return vm.noncoherentDma > 0;
}
