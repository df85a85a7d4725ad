/** KVM state the IOMMU side cares about (`virt/kvm/vfio.c`). */

export interface KvmVfioDevice {
    /** The KVM-VFIO device file. */
    readonly file: number;
    /** Files added with KVM_DEV_VFIO_FILE_ADD (their file ids). */
    files: number[];
}

export interface KvmVm {
    readonly id: number;
    readonly file: number;
    vfioDevice?: KvmVfioDevice;
    /** `kvm_arch_register_noncoherent_dma` count: non-zero makes WBINVD emulated for real. */
    noncoherentDma: number;
}
