import { describe, expect, test } from 'vitest';
import { expectHover } from 'langium/test';
import { iommu } from '../helpers.js';
import { BOX, hoverAt, onBox } from './lsp-fixtures.js';

const ASSIGN = `        unbind nic0
        bind nic0 vfio-pci
        let container = open "/dev/vfio/vfio"
        let group = open vfio-group(nic0)
        VFIO_GROUP_SET_CONTAINER(group, container)
        unbind nic1
        bind nic1 vfio-pci
        VFIO_GROUP_SET_CONTAINER(group, container)
        VFIO_SET_IOMMU(container, VFIO_TYPE1v2_IOMMU)
        let ram = mmap 1G
        VFIO_IOMMU_MAP_DMA(container, vaddr: ram, iova: 0, size: 1G, flags: READ | WRITE)
        dma nic0 write 0x1000 len 64
        for i in 1 .. 3 {
            close(99) expect EBADF
        }`;

/** The scenario with a `<|>` inserted before the `occurrence`-th `needle` (+`shift` characters). */
function at(needle: string, occurrence = 0, shift = 1): string {
    const text = onBox(ASSIGN);
    let index = -1;
    for (let i = 0; i <= occurrence; i++) {
        index = text.indexOf(needle, index + 1);
    }
    return `${text.slice(0, index + shift)}<|>${text.slice(index + shift)}`;
}

describe('hover on a device', () => {
    test('in a machine: address, group with viability, driver, owner and domain after boot', async () => {
        const hover = await hoverAt(BOX.replace('nic0 {', 'n<|>ic0 {'));
        expect(hover).toContain('**nic0** · `0000:02:00.0` · endpoint');
        expect(hover).toContain('- IOMMU group **1** (with rp1, nic1): not viable — 0000:02:00.0 (nic0) is bound to ixgbe, 0000:02:00.1 (nic1) is bound to ixgbe');
        expect(hover).toContain('- driver: ixgbe');
        expect(hover).toContain('- owner: 2 kernel driver users');
        expect(hover).toMatch(/- domain: DMA-API domain \d+ \(x86-64\)/);
        expect(hover).toContain('_after boot_');
    });

    test('a device alone behind an ACS port is in a viable group of its own', async () => {
        await expectHover(iommu)({ text: BOX.replace('nvme0 {', 'nv<|>me0 {'), index: 0, hover: /IOMMU group \*\*2\*\*: not viable — 0000:01:00.0 \(nvme0\) is bound to nvme/, disposeAfterCheck: true });
    });

    test('in a scenario: the state just before the statement runs', async () => {
        const before = await hoverAt(at('unbind nic0', 0, 8));
        expect(before).toContain('- driver: ixgbe');
        expect(before).toContain('_before line 16 (qemu)_');
        const later = await hoverAt(at('open vfio-group(nic0)', 0, 18));
        expect(later).toContain('- driver: vfio-pci');
        expect(later).toContain('not viable — 0000:02:00.1 (nic1) is bound to ixgbe');
        expect(later).toContain('- owner: 1 kernel driver user');
        expect(later).toContain('_before line 19 (qemu)_');
    });

    test('after the group is claimed: its owner is VFIO and its domain the container\'s', async () => {
        const hover = await hoverAt(at('dma nic0', 0, 5));
        expect(hover).toMatch(/IOMMU group \*\*1\*\* \(with rp1, nic1\): not viable — owned by VFIO group \d+/);
        expect(hover).toMatch(/- owner: VFIO group \d+/);
        expect(hover).toMatch(/- domain: paging domain \d+ \(x86-64\)/);
    });
});

describe('hover on a call', () => {
    test('a failing call: errno, reason, kernel source, and no changes', async () => {
        const hover = await hoverAt(at('VFIO_GROUP_SET_CONTAINER'));
        expect(hover).toContain('**VFIO_GROUP_SET_CONTAINER** → **EPERM** (errno 1, Operation not permitted) · _qemu_');
        expect(hover).toContain('group 1 is not viable: 0000:02:00.1 (nic1) is bound to ixgbe');
        expect(hover).toContain('Linux: `drivers/iommu/iommu.c` `iommu_group_claim_dma_owner`');
        expect(hover).toContain('- none (a call that fails changes nothing)');
    });

    test('a succeeding call: what it changed in the kernel', async () => {
        const hover = await hoverAt(at('VFIO_GROUP_SET_CONTAINER', 1));
        expect(hover).toContain('**VFIO_GROUP_SET_CONTAINER** → **ok**');
        expect(hover).toMatch(/- group 1: owner → VFIO group \d+, domain → blocking domain \d+/);
        expect(hover).toContain('- container 1: +group 1');
        const map = await hoverAt(at('VFIO_IOMMU_MAP_DMA'));
        expect(map).toContain('- container 1: +1 mapping [0x0, 0x3fffffff]');
        const unbind = await hoverAt(at('unbind nic1', 0, 2));
        expect(unbind).toContain('- nic1: driver ixgbe → none');
    });

    test('out-values, with the variable they are bound to', async () => {
        const hover = await hoverAt(at('open "/dev/vfio/vfio"', 0, 2));
        expect(hover).toContain('**open** → **ok**');
        expect(hover).toContain('- `fd` = 3 → /dev/vfio/vfio (bound to `container`)');
        expect(hover).toContain('- qemu: fd 3 → /dev/vfio/vfio (container 1)');
    });

    test('a DMA: the physical address it reached', async () => {
        const hover = await hoverAt(at('dma nic0', 0, 1));
        expect(hover).toMatch(/\*\*dma\*\* → \*\*ok\*\*/);
        expect(hover).toMatch(/- `pa` = 0x[0-9a-f]+/);
    });

    test('a statement in a loop lists each run', async () => {
        const hover = await hoverAt(at('close(99)', 0, 2));
        expect(hover).toContain('**close** runs 3 times: 3 × EBADF · _qemu_');
        expect(hover).toContain('- i = 1: EBADF: fd 99 is not open in qemu');
        expect(hover).toContain('- i = 3: EBADF: fd 99 is not open in qemu');
    });

    test('a statement in a procedure lists the run of each call', async () => {
        const text = `${BOX}\nscenario s on box {\n    procedure poke(dev) {\n        unbind d<|>ev\n    }\n    process p {\n        call poke(nic0)\n        call poke(nic1)\n    }\n}\n`;
        const hover = await hoverAt(text.replace('unbind d<|>ev', 'unb<|>ind dev'));
        expect(hover).toContain('**unbind** runs 2 times: 2 × ok');
        expect(hover).toContain('- in poke called on line 19: ok');
        expect(hover).toContain('- in poke called on line 20: ok');
    });
});

describe('hover on uAPI names', () => {
    test('an ioctl name: the prediction, then its doc, struct, sizes and kernel version', async () => {
        const hover = await hoverAt(at('VFIO_IOMMU_MAP_DMA', 0, 3));
        expect(hover).toContain('**VFIO_IOMMU_MAP_DMA** — Maps process memory at an IOVA in every domain of the container, pinning it.');
        expect(hover).toContain('- `struct vfio_iommu_type1_dma_map`, 32 bytes in Linux 7.0 (minimum 32)');
        expect(hover).toContain('- since Linux 3.6');
        expect(hover).toContain('- handler: `drivers/vfio/vfio_iommu_type1.c:vfio_iommu_type1_map_dma`');
        expect(hover).toContain('| `vaddr` | u64 | in | process virtual address of the memory |');
        expect(hover!.indexOf('→ **ok**')).toBeLessThan(hover!.indexOf('---'));
    });

    test('an ioctl the machine\'s kernel does not have says so', async () => {
        const text = onBox('        let fd = open "/dev/iommu"\n        IOMMU_IO<|>AS_ALLOC(fd) expect ENOTTY').replace('machine box {', 'machine box {\n    kernel 6.1');
        const hover = await hoverAt(text);
        expect(hover).toContain('since Linux 6.2 (**not in 6.1**: ENOTTY)');
    });

    test('a constant: its value and meaning', async () => {
        const hover = await hoverAt(at('READ |', 0, 1));
        expect(hover).toBe([
            '**VFIO_DMA_MAP_FLAG_READ** = `0x1`',
            '',
            'the device may read the mapping',
            '',
            'flag of `vfio_iommu_type1_dma_map.flags`, short name `READ` · since Linux 3.6',
        ].join('\n'));
    });

    test('a struct field: its type and meaning', async () => {
        const hover = await hoverAt(at('vaddr:', 0, 1));
        expect(hover).toContain('**vaddr** · u64 · in');
        expect(hover).toContain('process virtual address of the memory');
    });

    test('an errno: its number, meaning, and what is predicted', async () => {
        const hover = await hoverAt(at('EBADF', 0, 1));
        expect(hover).toBe([
            '**EBADF** — errno 9: Bad file descriptor',
            '',
            'Usually: an fd that is not open, or of the wrong kind.',
            '',
            'Predicted: 3 × EBADF (as expected)',
        ].join('\n'));
    });

    test('a variable: the value it was bound to', async () => {
        const hover = await hoverAt(at('vaddr: ram', 0, 8));
        expect(hover).toMatch(/^\*\*ram\*\* = 0x[0-9a-f]+\n\n_bound on line 25_$/);
    });

    test('a machine: its groups after boot', async () => {
        const hover = await hoverAt(onBox('        exit').replace('scenario s on box', 'scenario s on b<|>ox'));
        expect(hover).toBe([
            '**box** · Linux 7.0 · 3 IOMMU groups after boot',
            '',
            '- group 0: rp0 (viable)',
            '- group 1: rp1, nic0, nic1 (not viable)',
            '- group 2: nvme0 (not viable)',
        ].join('\n'));
    });

    test('an IOMMU unit: what its driver found', async () => {
        const hover = await hoverAt(BOX.replace('iommu dmar0 {', 'iommu dm<|>ar0 {'));
        expect(hover).toContain('**dmar0** · intel-vtd (scalable mode)');
        expect(hover).toContain('- groups: 0, 1, 2');
    });
});
