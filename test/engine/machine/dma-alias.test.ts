/**
 * `pci_for_each_dma_alias`, `pci_devs_are_dma_aliases` and the DMA-alias quirks.
 */

import { describe, expect, it } from 'vitest';
import { dmaAliases, pci_devs_are_dma_aliases } from '../../../engine/machine/dma-alias.js';
import { quirkDmaAliasDevfns } from '../../../engine/machine/dma-alias-quirks.js';
import { bridge, ep, groupsOf, lookupOf, machine, pci, rp, vtd } from './builders.js';

const rid = (bus: number, device: number, fn: number) => ({ bus, devfn: (device << 3) | fn });

describe('pci_for_each_dma_alias', () => {
    // Root ports (and switch ports) forward the requester ID: only the device's own.
    it('behind PCIe ports: the device RID only', () => {
        const l = lookupOf(machine(pci(0, undefined, rp('00:01.0', 'rp', {}, ep('01:00.0', 'e')))));
        expect(dmaAliases('e', l)).toEqual([{ dev: 'e', rid: rid(1, 0, 0) }]);
    });

    // A PCIe-to-PCI bridge takes ownership: (secondary bus, 00.0), attributed to the bridge.
    it('PCIe-to-PCI bridge: alias (secondary bus, 00.0) attributed to the bridge', () => {
        const l = lookupOf(machine(pci(0, undefined, rp('00:01.0', 'rp', {}, bridge('01:00.0', 'b', {}, ep('02:01.0', 'x'))))));
        expect(dmaAliases('x', l)).toEqual([{ dev: 'x', rid: rid(2, 1, 0) }, { dev: 'b', rid: rid(2, 0, 0) }]);
    });

    // A conventional bridge forwards with its own RID.
    it('conventional bridge: the bridge own RID', () => {
        const l = lookupOf(machine(pci(0, undefined, rp('00:01.0', 'rp', {}, bridge('01:00.0', 'cb', { conventional: true }, ep('02:01.0', 'x'))))));
        expect(dmaAliases('x', l)).toEqual([{ dev: 'x', rid: rid(2, 1, 0) }, { dev: 'cb', rid: rid(1, 0, 0) }]);
    });

    // quirk_use_pcie_bridge_dma_alias (ASMedia 1b21:1080): a bridge hiding its PCIe capability,
    // below a PCIe port, aliases like a PCIe-to-PCI bridge; on a root bus it does not.
    it('PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS (ASMedia 1080) below a PCIe port', () => {
        const below = lookupOf(machine(pci(0, undefined,
            rp('00:01.0', 'rp', {}, bridge('01:00.0', 'cb', { conventional: true, id: '1b21:1080' }, ep('02:01.0', 'x'))))));
        expect(dmaAliases('x', below)).toEqual([{ dev: 'x', rid: rid(2, 1, 0) }, { dev: 'cb', rid: rid(2, 0, 0) }]);
        const onRoot = lookupOf(machine(pci(0, undefined,
            bridge('00:1e.0', 'cb', { conventional: true, id: '1b21:1080' }, ep('01:01.0', 'x')))));
        expect(dmaAliases('x', onRoot)).toEqual([{ dev: 'x', rid: rid(1, 1, 0) }, { dev: 'cb', rid: rid(0, 0x1e, 0) }]);
    });

    // PCI_DEV_FLAGS_PCI_BRIDGE_NO_ALIAS (ASPEED AST1150): the bridge forwards the real RID.
    it('PCI_DEV_FLAGS_PCI_BRIDGE_NO_ALIAS (AST1150)', () => {
        const l = lookupOf(machine(pci(0, undefined, rp('00:01.0', 'rp', {}, bridge('01:00.0', 'b', { id: '1a03:1150' }, ep('02:00.0', 'vga'))))));
        expect(dmaAliases('vga', l)).toEqual([{ dev: 'vga', rid: rid(2, 0, 0) }]);
    });

    // PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT (Broadcom 14e4:9000): the walk stops at that bridge.
    it('PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT stops the walk', () => {
        const build = (id?: string) => lookupOf(machine(pci(0, undefined,
            bridge('00:1e.0', 'pb', {}, bridge('01:00.0', 'cb', { conventional: true, ...(id ? { id } : {}) }, ep('02:00.0', 'x'))))));
        expect(dmaAliases('x', build())).toEqual([
            { dev: 'x', rid: rid(2, 0, 0) }, { dev: 'cb', rid: rid(1, 0, 0) }, { dev: 'pb', rid: rid(1, 0, 0) },
        ]);
        expect(dmaAliases('x', build('14e4:9000'))).toEqual([{ dev: 'x', rid: rid(2, 0, 0) }]);
    });

    // dma_alias_mask devfns come right after the own RID, attributed to the device itself.
    it('explicit dma-alias devfns, attributed to the device', () => {
        const l = lookupOf(machine(pci(0, undefined, ep('00:02.0', 'a', { dmaAlias: ['00:02.1'] }))));
        expect(dmaAliases('a', l)).toEqual([{ dev: 'a', rid: rid(0, 2, 0) }, { dev: 'a', rid: rid(0, 2, 1) }]);
    });
});

describe('pci_devs_are_dma_aliases', () => {
    it('either listing the other counts', () => {
        const l = lookupOf(machine(pci(0, undefined, ep('00:02.0', 'a', { dmaAlias: ['00:03.0'] }), ep('00:03.0', 'b'), ep('00:04.0', 'c'))));
        expect(pci_devs_are_dma_aliases('a', 'b', l)).toBe(true);
        expect(pci_devs_are_dma_aliases('b', 'a', l)).toBe(true);
        expect(pci_devs_are_dma_aliases('a', 'c', l)).toBe(false);
    });
});

describe('DMA alias quirks (header fixups)', () => {
    it('quirk_dma_func0_alias (Ricoh e832, Glenfly 3d40)', () => {
        expect(quirkDmaAliasDevfns(0x1180, 0xe832, (3 << 3) | 1)).toEqual([3 << 3]);
        expect(quirkDmaAliasDevfns(0x6766, 0x3d40, (3 << 3) | 1)).toEqual([3 << 3]);
        expect(quirkDmaAliasDevfns(0x1180, 0xe832, 3 << 3)).toEqual([]);
    });

    it('quirk_dma_func1_alias (Marvell 88SE9xxx, JMicron JMB388, Plextor M6E)', () => {
        expect(quirkDmaAliasDevfns(0x1b4b, 0x9230, 0)).toEqual([1]);
        expect(quirkDmaAliasDevfns(0x197b, 0x2392, 0)).toEqual([1]);
        expect(quirkDmaAliasDevfns(0x1c28, 0x0122, 0)).toEqual([1]);
        expect(quirkDmaAliasDevfns(0x1b4b, 0x9230, 1)).toEqual([]);
    });

    // Adaptec 9005:0285 matches only with subsystem 9005:02bb/02bc, which the language cannot say.
    it('quirk_fixed_dma_alias needs the subsystem ID', () => {
        expect(quirkDmaAliasDevfns(0x9005, 0x0285, 0x70)).toEqual([]);
        expect(quirkDmaAliasDevfns(0x9005, 0x0285, 0x70, [0x9005, 0x02bb])).toEqual([0x08]);
    });

    it('quirk_mic_x200_dma_alias, quirk_pex_vca_alias, quirk_plx_ntb_dma_alias', () => {
        expect(quirkDmaAliasDevfns(0x8086, 0x2260, 0)).toEqual([0x80, 0x88, 0x93]);
        expect(quirkDmaAliasDevfns(0x8086, 0x2954, 0)).toHaveLength(32 * 5);
        expect(quirkDmaAliasDevfns(0x10b5, 0x87b0, 0)).toHaveLength(256);
    });

    it('no quirk for IDs not in the tables', () => {
        expect(quirkDmaAliasDevfns(0x1b36, 0x0000, 1)).toEqual([]);
    });

    // A PLX NTB aliases every devfn of its bus, so everything on it shares its group.
    it('PLX NTB: every function on its bus shares its group', () => {
        const spec = machine(vtd('dmar0'), pci(0, 'dmar0', ep('00:02.0', 'ntb', { id: '10b5:87b0' }), ep('00:03.0', 'other')));
        expect(groupsOf(spec)).toEqual({ 0: ['ntb', 'other'] });
    });
});
