import { afterEach, describe, expect, test } from 'vitest';
import { shared } from '../helpers.js';
import { BOX, inlayHintsOf, onBox } from './lsp-fixtures.js';

const SCENARIO = onBox(`        unbind nic0
        bind nic0 vfio-pci
        let container = open "/dev/vfio/vfio"
        let group = open vfio-group(nic0)
        VFIO_GROUP_GET_STATUS(group)
        VFIO_GROUP_SET_CONTAINER(group, container)
        let ram = mmap 1G
        dma nic0 write 0x1000 len 64
        for i in 1 .. 3 {
            close(99) expect EBADF
        }`);

/** Sets the client's `iommu` settings, as a workspace/didChangeConfiguration would. */
function configure(inlayHints: Record<string, boolean> | undefined): void {
    shared.workspace.ConfigurationProvider.updateConfiguration({ settings: { iommu: inlayHints === undefined ? {} : { inlayHints } } });
}

afterEach(() => configure(undefined));

describe('inlay hints', () => {
    test('each device of a machine shows its IOMMU group after its name', async () => {
        expect(await inlayHintsOf(BOX)).toEqual([
            '4:29 group 0',
            '5:34 group 2',
            '7:29 group 1',
            '8:33 group 1',
            '9:33 group 1',
        ]);
    });

    test('a device without a name shows its group after its address', async () => {
        const hints = await inlayHintsOf(BOX.replace('root-port 00:1c.0 rp0 acs', 'root-port 00:1c.0 acs'));
        expect(hints[0]).toBe('4:25 group 0');
    });

    test('each call shows its predicted result at the end of its line', async () => {
        const hints = (await inlayHintsOf(SCENARIO)).filter(h => !h.includes('group'));
        expect(hints).toEqual([
            '16:19 → ok',
            '17:26 → ok',
            '18:45 → ok fd=3',
            '19:41 → ok fd=4',
            '20:36 → ok flags=0',
            '21:50 → EPERM',
            expect.stringMatching(/^22:25 → ok addr=0x[0-9a-f]+$/),
            expect.stringMatching(/^23:36 → fault$/),
            '25:34 → EBADF ×3',
        ]);
    });

    test('a DMA that translates shows the physical address it reached', async () => {
        const text = onBox(`        unbind nic0
        unbind nic1
        bind nic0 vfio-pci
        bind nic1 vfio-pci
        let container = open "/dev/vfio/vfio"
        let group = open vfio-group(nic0)
        VFIO_GROUP_SET_CONTAINER(group, container)
        VFIO_SET_IOMMU(container, VFIO_TYPE1v2_IOMMU)
        let ram = mmap 1G
        VFIO_IOMMU_MAP_DMA(container, vaddr: ram, iova: 0, size: 1G, flags: READ | WRITE)
        dma nic0 write 0x1000 len 64`);
        const hints = await inlayHintsOf(text);
        expect(hints.at(-1)).toMatch(/^26:36 → pa 0x[0-9a-f]+$/);
    });

    test('iommu.inlayHints.enabled = false turns them all off', async () => {
        configure({ enabled: false });
        expect(await inlayHintsOf(SCENARIO)).toEqual([]);
    });

    test('each kind can be turned off on its own', async () => {
        configure({ groups: false });
        const results = await inlayHintsOf(SCENARIO);
        expect(results.length).toBeGreaterThan(0);
        expect(results.every(h => h.includes('→'))).toBe(true);
        configure({ results: false });
        const groups = await inlayHintsOf(SCENARIO);
        expect(groups.length).toBe(5);
        expect(groups.every(h => h.includes('group'))).toBe(true);
    });
});
