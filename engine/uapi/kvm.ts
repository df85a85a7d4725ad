/**
 * The part of the KVM uAPI (`include/uapi/linux/kvm.h`) the KVM-VFIO pseudo device needs:
 * creating a VM, creating a device in it, and its device attributes. KVM encodes the argument
 * size in the command (`_IOW`/`_IOWR`), so these structs have no size field: the kernel copies
 * exactly `sizeof`.
 */

import { cst, defineConstants, defineStruct, fld, kv, pseudo } from './define.js';
import { io, iow, iowr } from './ioc.js';
import type { ConstantSet, IoctlDef, StructDef } from './types.js';

/** `KVMIO`: the ioctl type of KVM. */
export const KVMIO = 0xae;
/** `KVM_API_VERSION`: what KVM_GET_API_VERSION returns. */
export const KVM_API_VERSION = 12;

/** Constants of `kvm_device_type`. */
export const kvm_device_type = defineConstants('kvm_device_type', 'enum', 'KVM_DEV_TYPE_', [
    cst('KVM_DEV_TYPE_FSL_MPIC_20', 1, 'Freescale MPIC v2.0'),
    cst('KVM_DEV_TYPE_FSL_MPIC_42', 2, 'Freescale MPIC v4.2'),
    cst('KVM_DEV_TYPE_XICS', 3, 'POWER XICS interrupt controller'),
    cst('KVM_DEV_TYPE_VFIO', 4, 'the KVM-VFIO pseudo device: tells KVM which VFIO files the VM uses', {
        since: kv(3, 13),
    }),
    cst('KVM_DEV_TYPE_ARM_VGIC_V2', 5, 'ARM GICv2'),
    cst('KVM_DEV_TYPE_FLIC', 6, 's390 floating interrupt controller'),
    cst('KVM_DEV_TYPE_ARM_VGIC_V3', 7, 'ARM GICv3'),
    cst('KVM_DEV_TYPE_ARM_VGIC_ITS', 8, 'ARM GICv3 ITS'),
    cst('KVM_DEV_TYPE_XIVE', 9, 'POWER XIVE interrupt controller'),
    cst('KVM_DEV_TYPE_ARM_PV_TIME', 10, 'ARM paravirtualized stolen time'),
    cst('KVM_DEV_TYPE_RISCV_AIA', 11, 'RISC-V AIA interrupt controller'),
    cst('KVM_DEV_TYPE_LOONGARCH_IPI', 12, 'LoongArch IPI'),
    cst('KVM_DEV_TYPE_LOONGARCH_EIOINTC', 13, 'LoongArch extended I/O interrupt controller'),
    cst('KVM_DEV_TYPE_LOONGARCH_PCHPIC', 14, 'LoongArch PCH PIC'),
]);

/** Constants of `kvm_create_device.flags`. */
export const kvm_create_device_flags = defineConstants('kvm_create_device.flags', 'flags', 'KVM_CREATE_DEVICE_', [
    cst('KVM_CREATE_DEVICE_TEST', 1, 'only test whether the device type could be created', { since: kv(3, 10) }),
]);

/** Attribute groups of the KVM-VFIO device (`kvm_device_attr.group`). */
export const kvm_dev_vfio_group = defineConstants('kvm_device_attr.group', 'enum', 'KVM_DEV_VFIO_', [
    cst('KVM_DEV_VFIO_FILE', 1, 'VFIO files (group or device fds) the VM uses', { since: kv(6, 6) }),
    cst('KVM_DEV_VFIO_GROUP', 1, 'old name of KVM_DEV_VFIO_FILE', { since: kv(3, 13), aliasOf: 'KVM_DEV_VFIO_FILE' }),
]);

/** Attributes of the KVM_DEV_VFIO_FILE group (`kvm_device_attr.attr`). */
export const kvm_dev_vfio_file_attr = defineConstants('kvm_device_attr.attr', 'enum', 'KVM_DEV_VFIO_FILE_', [
    cst('KVM_DEV_VFIO_FILE_ADD', 1, 'add the VFIO file whose fd addr points to', { since: kv(6, 6) }),
    cst('KVM_DEV_VFIO_FILE_DEL', 2, 'remove the VFIO file whose fd addr points to', { since: kv(6, 6) }),
    cst('KVM_DEV_VFIO_GROUP_ADD', 1, 'old name of KVM_DEV_VFIO_FILE_ADD', {
        since: kv(3, 13),
        aliasOf: 'KVM_DEV_VFIO_FILE_ADD',
        short: 'GROUP_ADD',
    }),
    cst('KVM_DEV_VFIO_GROUP_DEL', 2, 'old name of KVM_DEV_VFIO_FILE_DEL', {
        since: kv(3, 13),
        aliasOf: 'KVM_DEV_VFIO_FILE_DEL',
        short: 'GROUP_DEL',
    }),
    cst('KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE', 3, 'attach a guest TCE table to a group (POWER only)', {
        short: 'GROUP_SET_SPAPR_TCE',
    }),
]);

/** Every KVM constant set. */
export const KVM_CONSTANT_SETS: readonly ConstantSet[] = [
    kvm_device_type,
    kvm_create_device_flags,
    kvm_dev_vfio_group,
    kvm_dev_vfio_file_attr,
];

/** `struct kvm_create_device`, the argument of KVM_CREATE_DEVICE. */
export const kvm_create_device: StructDef = defineStruct('kvm_create_device', 12, 12, [
    fld('type', 'u32', 0, 'in', 'device type', { constants: kvm_device_type.id }),
    fld('fd', 'u32', 4, 'out', 'fd of the new device'),
    fld('flags', 'u32', 8, 'in', '0, or TEST', { constants: kvm_create_device_flags.id }),
]);

/** `struct kvm_device_attr`, the argument of KVM_SET_DEVICE_ATTR, KVM_GET_DEVICE_ATTR and KVM_HAS_DEVICE_ATTR. */
export const kvm_device_attr: StructDef = defineStruct('kvm_device_attr', 24, 24, [
    fld('flags', 'u32', 0, 'in', 'must be 0'),
    fld('group', 'u32', 4, 'in', 'attribute group (KVM-VFIO: KVM_DEV_VFIO_FILE)', { constants: kvm_dev_vfio_group.id }),
    fld('attr', 'u64', 8, 'in', 'attribute within the group (KVM-VFIO: FILE_ADD, FILE_DEL)', {
        constants: kvm_dev_vfio_file_attr.id,
    }),
    fld('addr', 'ptr', 16, 'in', 'user pointer to the attribute value (KVM-VFIO: an s32 fd)'),
]);

/** kvm_device_attr as KVM_SET_DEVICE_ATTR is written: `file` stands for the s32 fd `addr` points to. */
const kvm_device_attr_set: StructDef = {
    ...kvm_device_attr,
    fields: [
        ...kvm_device_attr.fields,
        pseudo('file', 's32', 'in', 'the VFIO group or device fd that addr points to', { pointeeOf: 'addr' }),
    ],
};

/** Every KVM struct, for tests and tools. */
export const KVM_STRUCTS: readonly StructDef[] = [kvm_create_device, kvm_device_attr];

/** The KVM ioctls the KVM-VFIO device needs. */
export const KVM_IOCTLS: readonly IoctlDef[] = [
    {
        name: 'KVM_GET_API_VERSION',
        cmd: io(KVMIO, 0x00),
        fileKinds: ['kvm'],
        since: kv(2, 6),
        arg: { kind: 'none' },
        main: 'ret',
        retName: 'value',
        doc: 'Returns the KVM API version, always 12.',
        source: 'virt/kvm/kvm_main.c:kvm_dev_ioctl',
    },
    {
        name: 'KVM_CREATE_VM',
        cmd: io(KVMIO, 0x01),
        fileKinds: ['kvm'],
        since: kv(2, 6),
        arg: { kind: 'int', doc: 'machine type; 0 (the default VM type) when omitted' },
        main: 'ret',
        retName: 'fd',
        doc: 'Creates a virtual machine and returns its fd.',
        source: 'virt/kvm/kvm_main.c:kvm_dev_ioctl_create_vm',
    },
    {
        name: 'KVM_CREATE_DEVICE',
        cmd: iowr(KVMIO, 0xe0, kvm_create_device.size),
        fileKinds: ['kvm-vm'],
        since: kv(3, 10),
        arg: { kind: 'struct', struct: kvm_create_device },
        main: 'fd',
        positionalField: 'type',
        doc: 'Creates an in-kernel device (KVM-VFIO: one per VM) and returns its fd.',
        source: 'virt/kvm/kvm_main.c:kvm_ioctl_create_device',
    },
    {
        name: 'KVM_SET_DEVICE_ATTR',
        cmd: iow(KVMIO, 0xe1, kvm_device_attr.size),
        fileKinds: ['kvm-device'],
        since: kv(3, 10),
        arg: { kind: 'struct', struct: kvm_device_attr_set },
        doc: 'Sets a device attribute (KVM-VFIO: adds or removes a VFIO file).',
        source: 'virt/kvm/vfio.c:kvm_vfio_set_attr',
    },
    {
        name: 'KVM_GET_DEVICE_ATTR',
        cmd: iow(KVMIO, 0xe2, kvm_device_attr.size),
        fileKinds: ['kvm-device'],
        since: kv(3, 10),
        arg: { kind: 'struct', struct: kvm_device_attr },
        doc: 'Reads a device attribute (KVM-VFIO has none: EPERM).',
        source: 'virt/kvm/kvm_main.c:kvm_device_ioctl',
    },
    {
        name: 'KVM_HAS_DEVICE_ATTR',
        cmd: iow(KVMIO, 0xe3, kvm_device_attr.size),
        fileKinds: ['kvm-device'],
        since: kv(3, 10),
        arg: { kind: 'struct', struct: kvm_device_attr },
        doc: 'Asks whether a device attribute exists (0 yes, ENXIO no).',
        source: 'virt/kvm/vfio.c:kvm_vfio_has_attr',
    },
];
