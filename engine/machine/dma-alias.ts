/**
 * DMA aliases: the requester IDs an IOMMU may see for a function (`drivers/pci/search.c:
 * pci_for_each_dma_alias`) and whether two functions alias each other
 * (`drivers/pci/pci.c:pci_devs_are_dma_aliases`).
 *
 * `pci_real_dma_dev` (Intel VMD hands out the VMD endpoint) is not modelled: no VMD domains.
 */

import { bridgeXlateRoot, pciBridgeNoAlias, pcieBridgeAlias } from './dma-alias-quirks.js';
import { pciDevfn, pci_is_pcie, pci_pcie_type, upstreamBridges, type PciLookup } from './pci.js';

/** A requester ID: bus number and devfn. */
export interface PciRid {
    readonly bus: number;
    readonly devfn: number;
}

/**
 * Callback of `pci_for_each_dma_alias`: the device the alias is attributed to, and the alias.
 * Returning true stops the walk (the kernel's non-zero return).
 */
export type DmaAliasFn = (dev: string, alias: PciRid) => boolean;

/**
 * `pci_for_each_dma_alias()`: calls `fn` for the device's own RID, then once per devfn of its
 * `dma_alias_mask` (attributed to the device itself), then for each bridge on the way up that
 * changes the requester ID. Returns true when `fn` stopped the walk.
 *
 * - root, upstream and downstream ports forward the RID unchanged: passed over;
 * - a PCIe-to-PCI/X bridge takes ownership: alias (secondary bus, 00.0), unless the bridge
 *   forwards the real RID (PCI_DEV_FLAGS_PCI_BRIDGE_NO_ALIAS);
 * - a conventional PCI bridge: its own RID, or (secondary bus, 00.0) with
 *   PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS;
 * - a bridge with PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT ends the walk (the IOMMU sits there);
 * - virtual buses (SR-IOV) are skipped.
 */
export function pci_for_each_dma_alias(name: string, lookup: PciLookup, fn: DmaAliasFn): boolean {
    const pdev = lookup.pciDev(name);
    if (!pdev) {
        return false;
    }
    if (fn(name, { bus: pdev.bdf.bus, devfn: pciDevfn(pdev) })) {
        return true;
    }
    for (const aliasDevfn of pdev.dmaAliasDevfns) {
        if (fn(name, { bus: pdev.bdf.bus, devfn: aliasDevfn })) {
            return true;
        }
    }
    for (const bridgeName of upstreamBridges(name, lookup)) {
        const tmp = lookup.pciDev(bridgeName);
        if (!tmp) {
            break;
        }
        if (bridgeXlateRoot(tmp)) {
            return false;
        }
        if (pci_is_pcie(tmp)) {
            switch (pci_pcie_type(tmp)) {
                case 'ROOT_PORT':
                case 'UPSTREAM':
                case 'DOWNSTREAM':
                    continue;
                case 'PCI_BRIDGE':
                    if (pciBridgeNoAlias(tmp)) {
                        continue;
                    }
                    if (fn(bridgeName, { bus: tmp.secondaryBus ?? 0, devfn: 0 })) {
                        return true;
                    }
                    continue;
                default:
                    continue;
            }
        }
        const alias = pcieBridgeAlias(tmp, lookup)
            ? { bus: tmp.secondaryBus ?? 0, devfn: 0 }
            : { bus: tmp.bdf.bus, devfn: pciDevfn(tmp) };
        if (fn(bridgeName, alias)) {
            return true;
        }
    }
    return false;
}

/** Every requester ID of a device, with the device each is attributed to. */
export function dmaAliases(name: string, lookup: PciLookup): Array<{ dev: string; rid: PciRid }> {
    const out: Array<{ dev: string; rid: PciRid }> = [];
    pci_for_each_dma_alias(name, lookup, (dev, rid) => {
        out.push({ dev, rid });
        return false;
    });
    return out;
}

/**
 * `pci_devs_are_dma_aliases()`: one lists the other's devfn in its `dma_alias_mask`. (Callers
 * compare devices of one bus only.)
 */
export function pci_devs_are_dma_aliases(a: string, b: string, lookup: PciLookup): boolean {
    const da = lookup.pciDev(a);
    const db = lookup.pciDev(b);
    if (!da || !db) {
        return false;
    }
    return da.dmaAliasDevfns.includes(pciDevfn(db)) || db.dmaAliasDevfns.includes(pciDevfn(da));
}
