import { EmptyFileSystem } from 'langium';
import { parseHelper } from 'langium/test';
import { describe, expect, test } from 'vitest';
import type { IommuFile } from '../../../language/generated/ast.js';
import { createIommuServices } from '../../../language/iommu-module.js';

const text = `
machine m {
    iommu dmar0 intel-vtd { address-width 48 page-sizes 4K 2M 1G features coherent enforce-coherency intr-remap }
    pci 0000 iommu dmar0 { root-port 00:01.0 rp0 acs { endpoint 01:00.0 nvme0 { driver nvme } } }
}
scenario s on m {
    process vmm {
        let fd = open "/dev/iommu"
        let ioas = IOMMU_IOAS_ALLOC(fd)
        IOMMU_HWPT_ALLOC(fd, dev_id: 1, pt_id: ioas)
    }
}`;

describe('the default kernel version (iommu.kernel.default)', () => {
    test('machines without a kernel line simulate the configured version', async () => {
        const { iommu } = createIommuServices(EmptyFileSystem);
        const parse = parseHelper<IommuFile>(iommu);
        const sim = iommu.simulation.ScenarioSimulator;

        const newest = await parse(text, { validation: true });
        const hwpt = (r: typeof newest) => sim.simulateSync(r.parseResult.value.scenarios[0]!)!.run.results[2]!;
        // Newest kernel: HWPT_ALLOC exists; dev_id 1 is no DEVICE here, so ENOENT.
        expect(hwpt(newest).errno).toBe('ENOENT');

        sim.setDefaultKernel({ major: 6, minor: 5 });
        const old = await parse(text, { validation: true });
        // 6.5 has no IOMMU_HWPT_ALLOC (6.6): the ioctl number is unknown to it.
        expect(hwpt(old).errno).toBe('ENOTTY');
        expect(hwpt(old).reason).toMatch(/IOMMU_HWPT_ALLOC does not exist in Linux 6\.5 \(it appeared in 6\.6\)/);
    });
});
