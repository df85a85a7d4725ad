/**
 * What the engine knows about drivers: whether a driver manages DMA itself
 * (`driver_managed_dma`, so binding it leaves the group's DMA ownership alone) and whether it is
 * a VFIO driver (binding it registers a `vfio_device`). Any other name is a kernel driver using
 * the DMA API, which is what matters for IOMMU group viability.
 */

export interface DriverInfo {
    readonly name: string;
    /** `struct device_driver.driver_managed_dma` (drivers/base/dd.c, `pci_dma_configure`). */
    readonly driverManagedDma: boolean;
    /** Registers the device with VFIO (vfio-pci and its variants, vfio-platform). */
    readonly vfio: 'pci' | 'platform' | false;
    /** Which buses it binds to. */
    readonly buses: ReadonlyArray<'pci' | 'platform'>;
    readonly doc: string;
}

const TABLE: readonly DriverInfo[] = [
    { name: 'vfio-pci', driverManagedDma: true, vfio: 'pci', buses: ['pci'], doc: 'VFIO PCI driver: hands the device to userspace' },
    // vfio-pci variant drivers (mlx5_vfio_pci, hisi_acc_vfio_pci, ...) behave like vfio-pci here.
    { name: 'mlx5_vfio_pci', driverManagedDma: true, vfio: 'pci', buses: ['pci'], doc: 'vfio-pci variant for Mellanox VFs (live migration)' },
    { name: 'hisi_acc_vfio_pci', driverManagedDma: true, vfio: 'pci', buses: ['pci'], doc: 'vfio-pci variant for HiSilicon accelerators' },
    { name: 'pds_vfio_pci', driverManagedDma: true, vfio: 'pci', buses: ['pci'], doc: 'vfio-pci variant for AMD/Pensando DSC VFs' },
    { name: 'virtio_vfio_pci', driverManagedDma: true, vfio: 'pci', buses: ['pci'], doc: 'vfio-pci variant for virtio-net VFs' },
    { name: 'vfio-platform', driverManagedDma: true, vfio: 'platform', buses: ['platform'], doc: 'VFIO platform driver' },
    { name: 'pci-stub', driverManagedDma: true, vfio: false, buses: ['pci'], doc: 'claims a device and does nothing (no DMA)' },
    { name: 'pcieport', driverManagedDma: true, vfio: false, buses: ['pci'], doc: 'PCIe port services driver (no DMA of its own)' },
];

const BY_NAME = new Map(TABLE.map((d) => [d.name, d]));

/** Kernel drivers users often name, for completion; all are DMA-API drivers. */
export const COMMON_KERNEL_DRIVERS: readonly string[] = [
    'nvme', 'ixgbe', 'i40e', 'ice', 'igb', 'e1000e', 'mlx5_core', 'bnxt_en', 'nvidia', 'amdgpu', 'i915', 'xe',
    'snd_hda_intel', 'xhci_hcd', 'ahci', 'idxd', 'qat_4xxx', 'virtio-pci',
];

/**
 * The VF driver each SR-IOV PF driver's VFs match (their modules' PCI id tables). With
 * `sriov_drivers_autoprobe` at its default of 1, a new VF probes into it (`pci_device_can_probe`),
 * as on any distribution kernel that ships the VF module. PF drivers not listed here leave their
 * VFs unbound.
 */
const VF_DRIVERS: ReadonlyMap<string, string> = new Map([
    ['ixgbe', 'ixgbevf'], ['igb', 'igbvf'], ['i40e', 'iavf'], ['ice', 'iavf'], ['mlx5_core', 'mlx5_core'],
    ['bnxt_en', 'bnxt_en'], ['qat_4xxx', 'qat_4xxxvf'],
]);

/** The kernel driver that autoprobes the VFs of a PF bound to `pfDriver`, if one is known. */
export function vfDriverOf(pfDriver: string): string | undefined {
    return VF_DRIVERS.get(pfDriver);
}

export function driverInfo(name: string): DriverInfo {
    return BY_NAME.get(name) ?? {
        name, driverManagedDma: false, vfio: false, buses: ['pci', 'platform'],
        doc: 'kernel driver using the DMA API',
    };
}

export function knownDriverNames(): string[] {
    return [...new Set([...TABLE.map((d) => d.name), ...COMMON_KERNEL_DRIVERS, ...VF_DRIVERS.values()])];
}

export function isVfioDriver(name: string | null): boolean {
    return name !== null && driverInfo(name).vfio !== false;
}
