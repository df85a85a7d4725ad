/**
 * The vfio-pci driver's own rules (`drivers/vfio/pci/vfio_pci.c`, `vfio_pci_core.c`): which
 * devices it binds, how `VFIO_GROUP_GET_DEVICE_FD` names a device (with an SR-IOV VF token),
 * and the device-fd ioctls it answers.
 */

import { fail } from '../errno.js';
import { getDevice } from '../iommu/core.js';
import type { IoctlCall, IoctlOut } from '../syscalls/ioctl-call.js';
import type { Device, KernelState, VfioDevice } from '../state.js';

const CORE_C = 'drivers/vfio/pci/vfio_pci_core.c';

/** VFIO_PCI_NUM_REGIONS (BAR0–5, ROM, CONFIG, VGA) and VFIO_PCI_NUM_IRQS (INTx, MSI, MSI-X, ERR, REQ). */
const VFIO_PCI_NUM_REGIONS = 9n;
const VFIO_PCI_NUM_IRQS = 5n;
const VFIO_DEVICE_FLAGS_RESET = 1n;
const VFIO_DEVICE_FLAGS_PCI = 2n;

/** `vfio_pci_core_register_device`'s refusals: bridges/ports (non-normal header) and PFs with VFs. */
export function vfio_pci_probe_check(k: KernelState, dev: Device): void {
    const pci = dev.pci;
    if (!pci) {
        fail('ENODEV', `${dev.name} is not a PCI device`, 'drivers/vfio/pci/vfio_pci.c:vfio_pci_probe');
    }
    if (pci.type === 'root-port' || pci.type === 'upstream-port' || pci.type === 'downstream-port' || pci.type === 'pcie-to-pci-bridge' || pci.type === 'pci-bridge') {
        fail('EINVAL', `${dev.devName} (${dev.name}) is a bridge (header type 1): vfio-pci binds only normal (type 0) functions`, `${CORE_C}:vfio_pci_core_register_device`);
    }
    if ((pci.sriovNumVfs ?? 0) > 0) {
        fail('EBUSY', `${dev.devName} (${dev.name}) has ${pci.sriovNumVfs} VFs enabled: vfio-pci cannot bind a PF with SR-IOV enabled`, `${CORE_C}:vfio_pci_core_register_device`);
    }
    void k;
}

/** A PF gets a random VF token at bind (`vfio_pci_vf_init`: uuid_gen) that the user cannot know. */
export function initialVfToken(dev: Device): string {
    let h = 0x811c9dc5;
    for (const c of dev.devName) {
        h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
    }
    const x = h.toString(16).padStart(8, '0');
    return `${x}-${x.slice(0, 4)}-4${x.slice(1, 4)}-8${x.slice(5, 8)}-${x}${x.slice(0, 4)}`;
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/;

/**
 * `vfio_pci_core_match`: `buf` is the device name, optionally followed by ` vf_token=<uuid>`.
 * Returns false for another device; throws EINVAL/EACCES for token problems (which stop the
 * search in `vfio_device_get_from_name`).
 */
export function vfio_pci_match(k: KernelState, vdev: VfioDevice, buf: string): boolean {
    const dev = getDevice(k, vdev.device);
    const name = dev.devName;
    if (!buf.startsWith(name)) {
        return false;
    }
    let rest = buf.slice(name.length);
    let token: string | undefined;
    if (rest.length > 0) {
        if (rest[0] !== ' ') {
            return false;
        }
        const src = `${CORE_C}:vfio_pci_core_match`;
        while (rest.length > 0) {
            if (rest[0] === ' ') {
                rest = rest.slice(1);
                continue;
            }
            if (token === undefined && rest.startsWith('vf_token=')) {
                rest = rest.slice('vf_token='.length);
                const m = UUID_RE.exec(rest);
                if (!m) {
                    fail('EINVAL', `malformed vf_token in "${buf}": expected a UUID`, src);
                }
                token = m[0].toLowerCase();
                rest = rest.slice(36);
            } else {
                fail('EINVAL', `unknown or duplicate option in "${buf}"`, src);
            }
        }
    }
    validateVfToken(k, vdev, dev, token);
    return true;
}

/** `vfio_pci_validate_vf_token` (also `vfio_pci_core_match_token_uuid` for cdev binds). */
export function validateVfToken(k: KernelState, vdev: VfioDevice, dev: Device, token: string | undefined): void {
    const src = `${CORE_C}:vfio_pci_validate_vf_token`;
    const pf = dev.pci?.physfn;
    if (pf !== undefined) {
        const pfv = k.vfio.devices.get(pf);
        const pfDev = getDevice(k, pf);
        if (!pfv || !pfDev.driver || !pfDev.driver.includes('vfio-pci')) {
            if (token !== undefined) {
                fail('EINVAL', `VF token given for ${dev.devName}, but its PF ${pfDev.devName} is not bound to vfio-pci`, src);
            }
            return;
        }
        if (token === undefined) {
            fail('EACCES', `${dev.devName} is a VF of ${pfDev.devName}, which vfio-pci drives: the PF's VF token is required ("${dev.devName} vf_token=<uuid>")`, src);
        }
        if (token !== pfv.vfToken?.uuid) {
            fail('EACCES', `incorrect VF token for ${dev.devName}`, src);
        }
        return;
    }
    if (vdev.vfToken) {
        if (vdev.vfToken.users > 0) {
            if (token === undefined) {
                fail('EACCES', `${dev.devName}'s VFs are in use: the current VF token is required`, src);
            }
            if (token !== vdev.vfToken.uuid) {
                fail('EACCES', `incorrect VF token for ${dev.devName}`, src);
            }
        } else if (token !== undefined) {
            // With no VF in use, the PF's open sets the token.
            vdev.vfToken.uuid = token;
        }
        return;
    }
    if (token !== undefined) {
        fail('EINVAL', `VF token given for ${dev.devName}, which is neither a PF nor a VF`, src);
    }
}

/**
 * The VF token's user count (`vf_token->users`): a VF's first open (`vfio_pci_core_finish_enable`)
 * and last close (`vfio_pci_core_close_device`) count on its PF's token, when the PF is on
 * vfio-pci (`vdev->sriov_pf_core_dev`). While it is non-zero, opening the PF needs the token.
 * Callers: the first open and last close of a device, on the group and the cdev paths alike.
 */
export function vfio_pci_vf_token_user_add(k: KernelState, vdev: VfioDevice, delta: 1 | -1): void {
    const pf = getDevice(k, vdev.device).pci?.physfn;
    const token = pf === undefined ? undefined : k.vfio.devices.get(pf)?.vfToken;
    if (token) {
        token.users = Math.max(0, token.users + delta);
    }
}

/** Reset methods the device offers (`pci_probe_reset_function`); unlisted PCIe functions have FLR. */
export function resetMethods(dev: Device): readonly string[] {
    const pci = dev.pci;
    if (!pci) {
        return [];
    }
    if (pci.resets.length > 0) {
        return pci.resets;
    }
    return pci.type === 'conventional' ? [] : ['flr'];
}

/** `vfio_pci_core_ioctl` (what reaches the driver after vfio_main's dispatch). */
export function vfio_pci_ioctl(k: KernelState, vdev: VfioDevice, call: IoctlCall): IoctlOut {
    const dev = getDevice(k, vdev.device);
    switch (call.def.name) {
        case 'VFIO_DEVICE_GET_INFO': {
            if (call.size < 16n) {
                fail('EINVAL', `argsz ${call.size} is smaller than 16`, `${CORE_C}:vfio_pci_ioctl_get_info`);
            }
            const flags = VFIO_DEVICE_FLAGS_PCI | (resetMethods(dev).length > 0 ? VFIO_DEVICE_FLAGS_RESET : 0n);
            return { out: { flags, num_regions: VFIO_PCI_NUM_REGIONS, num_irqs: VFIO_PCI_NUM_IRQS } };
        }
        case 'VFIO_DEVICE_GET_REGION_INFO': {
            const src = `${CORE_C}:vfio_pci_ioctl_get_region_info`;
            if (call.size < 32n) {
                fail('EINVAL', `argsz ${call.size} is smaller than 32`, src);
            }
            const index = call.field('index');
            if (index >= VFIO_PCI_NUM_REGIONS) {
                fail('EINVAL', `region index ${index} is beyond the ${VFIO_PCI_NUM_REGIONS} vfio-pci regions`, src);
            }
            const READ = 1n;
            const WRITE = 2n;
            if (index === 8n) {
                // VFIO_PCI_VGA_REGION_INDEX: only a VGA-class device has it (vdev->has_vga,
                // vfio_pci_is_vga); it is the legacy 0xa0000-0xbffff window and I/O ports.
                const vga = dev.pci?.className === 'display' || dev.pci?.className === 'vga';
                if (!vga) {
                    fail('EINVAL', `${dev.devName} (${dev.name}) is not a VGA device: it has no VGA region (index 8)`, src);
                }
                return { out: { offset: index << 40n, size: 0xc0000n, flags: READ | WRITE } };
            }
            // Config space (index 7) is 4K for PCIe, 256 for conventional; the engine models no BARs.
            const size = index === 7n ? (dev.pci?.type === 'conventional' ? 256n : 4096n) : 0n;
            return { out: { offset: index << 40n, size, flags: size > 0n ? READ | WRITE : 0n } };
        }
        case 'VFIO_DEVICE_GET_IRQ_INFO': {
            const src = `${CORE_C}:vfio_pci_ioctl_get_irq_info`;
            if (call.size < 16n) {
                fail('EINVAL', `argsz ${call.size} is smaller than 16`, src);
            }
            const index = call.field('index');
            if (index >= VFIO_PCI_NUM_IRQS) {
                fail('EINVAL', `IRQ index ${index} is beyond the ${VFIO_PCI_NUM_IRQS} vfio-pci IRQ types`, src);
            }
            const EVENTFD = 1n;
            const MASKABLE = 2n;
            const AUTOMASKED = 4n;
            const NORESIZE = 8n;
            const count = index === 0n ? 1n : index === 1n ? 1n : index === 2n ? 2048n : 1n;
            const flags = EVENTFD | (index === 0n ? MASKABLE | AUTOMASKED : NORESIZE);
            return { out: { flags, count } };
        }
        case 'VFIO_DEVICE_RESET': {
            const methods = resetMethods(dev);
            if (methods.length === 0) {
                fail('EINVAL', `${dev.devName} (${dev.name}) has no reset method (reset_works is false)`, `${CORE_C}:vfio_pci_core_ioctl`);
            }
            return {};
        }
        default:
            fail('ENOTTY', `vfio-pci does not handle ${call.def.name} on this fd`, `${CORE_C}:vfio_pci_core_ioctl`);
    }
}
