/**
 * Device names: the devices of the machine a scenario runs on (functions, ports and bridges
 * with a name, platform devices, mdevs), its VFs, the mdevs a scenario creates, and procedure
 * parameters standing for devices. IOMMU units and mdev parents resolve in their machine.
 */

import { describe, expect, test } from 'vitest';
import { expectError } from 'langium/test';
import {
    isBindStatement, isDmaStatement, isEndpoint, isMachineMdev, isPciSegment, isPlatformDevice, isUnbindStatement,
    isVfioDevicePath, isVirtualFunction,
} from '../../../language/generated/ast.js';
import { describeDiagnostics, nodesOf, parseValid, validate } from '../helpers.js';

const MACHINE = `
machine m {
    iommu dmar0 intel-vtd { }
    iommu smmu0 arm-smmu-v3 { }
    pci 0000 iommu dmar0 {
        root-port 00:01.0 rp0 acs {
            endpoint 01:00.0 gpu0 { driver nvidia sriov 4 }
            endpoint 01:00.1 audio0 { driver snd_hda_intel }
        }
        pci-bridge 00:1e.0 legacy { endpoint 03:00.0 sound0 { } }
        root-port 00:02.0 { endpoint 02:00.0 nic0 { } }
    }
    platform dsp0 iommu smmu0 { driver qcom }
    mdev vgpu0 parent gpu0 emulated
}
`;

function scenario(body: string, procedures = ''): string {
    return `${MACHINE}\nscenario s on m {\n${procedures}\n    process p {\n${body}\n    }\n}\n`;
}

describe('device scopes', () => {
    test('functions, ports, bridges, platform devices and mdevs of the machine', async () => {
        const document = await parseValid(scenario(`
            unbind gpu0
            unbind rp0
            unbind legacy
            unbind dsp0
            unbind vgpu0`));
        expect(describeDiagnostics(document)).toEqual([]);
        const targets = nodesOf(document.parseResult.value, isUnbindStatement).map(u => u.device.ref?.$type);
        expect(targets).toEqual(['Endpoint', 'RootPort', 'PciBridge', 'PlatformDevice', 'MachineMdev']);
    });

    test('VFs of an sriov endpoint are nodes contained by their physical function', async () => {
        const document = await parseValid(scenario(`
            sriov gpu0 numvfs 4
            bind gpu0.vf0 vfio-pci
            let vf = open vfio-device(gpu0.vf3)`));
        expect(describeDiagnostics(document)).toEqual([]);
        const vf0 = nodesOf(document.parseResult.value, isBindStatement)[0]!.device.ref;
        expect(isVirtualFunction(vf0)).toBe(true);
        expect(vf0).toMatchObject({ name: 'gpu0.vf0', index: 0 });
        expect(isEndpoint(vf0!.$container) && vf0!.$container.name).toBe('gpu0');
        const vf3 = nodesOf(document.parseResult.value, isVfioDevicePath)[0]!.device.ref;
        expect(vf3).toMatchObject({ $type: 'VirtualFunction', name: 'gpu0.vf3', index: 3 });
    });

    test('a VF beyond sriov N, or of an endpoint without sriov, is unknown, and says why', async () => {
        const result = await validate(scenario(`
            bind gpu0.vf4 vfio-pci
            bind nic0.vf0 vfio-pci`));
        const [beyond, none] = nodesOf(result.document.parseResult.value, isBindStatement);
        expectError(result, "unknown device 'gpu0.vf4': gpu0 has 4 virtual functions, gpu0.vf0 to gpu0.vf3",
            { node: beyond!, property: 'device', data: { code: 'unknown-device' } });
        expectError(result, "unknown device 'nic0.vf0': nic0 has no `sriov`, so no virtual functions",
            { node: none!, property: 'device', data: { code: 'unknown-device' } });
    });

    test('an mdev a scenario creates is a device of the whole scenario', async () => {
        const document = await parseValid(`${MACHINE}
scenario s on m {
    process admin {
        sriov gpu0 numvfs 1
        mdev slice0 parent gpu0.vf0 iommu-backed
    }
    process user {
        let d = open vfio-device(slice0)
        dma slice0 read 0 len 4 expect fault
    }
}`);
        expect(describeDiagnostics(document)).toEqual([]);
        expect(nodesOf(document.parseResult.value, isDmaStatement)[0]!.device.ref?.$type).toBe('MdevStatement');
    });

    test('a procedure parameter stands for a device', async () => {
        const document = await parseValid(scenario('            call take(nic0)', `
    procedure take(dev) {
        unbind dev
        bind dev vfio-pci
        let g = open vfio-group(dev)
    }`));
        expect(describeDiagnostics(document)).toEqual([]);
        expect(nodesOf(document.parseResult.value, isUnbindStatement)[0]!.device.ref?.$type).toBe('Parameter');
    });

    test('devices are those of the scenario\'s machine only', async () => {
        const result = await validate(`${MACHINE}
machine other { pci 0000 { endpoint 01:00.0 foreign0 { } } }
scenario s on m { process p { unbind foreign0 } }`);
        const unbind = nodesOf(result.document.parseResult.value, isUnbindStatement)[0]!;
        expectError(result, /^unknown device 'foreign0'/, { node: unbind, property: 'device' });
    });

    test('IOMMU units and mdev parents resolve in their own machine', async () => {
        const document = await parseValid(MACHINE);
        expect(describeDiagnostics(document)).toEqual([]);
        const root = document.parseResult.value;
        expect(nodesOf(root, isPciSegment)[0]!.iommu?.ref?.name).toBe('dmar0');
        expect(nodesOf(root, isPlatformDevice)[0]!.iommu?.ref?.name).toBe('smmu0');
        expect(nodesOf(root, isMachineMdev)[0]!.parent.ref?.name).toBe('gpu0');

        const result = await validate(`machine n {
    iommu dmar0 intel-vtd { }
    pci 0000 iommu dmar9 { endpoint 01:00.0 gpu0 { } }
    mdev v parent gpu9 emulated
}`);
        const segment = nodesOf(result.document.parseResult.value, isPciSegment)[0]!;
        const mdev = nodesOf(result.document.parseResult.value, isMachineMdev)[0]!;
        expectError(result, "unknown IOMMU unit 'dmar9'; did you mean 'dmar0'?", { node: segment, property: 'iommu', data: { code: 'unknown-iommu' } });
        expectError(result, "unknown device 'gpu9'; did you mean 'gpu0'?", { node: mdev, property: 'parent', data: { code: 'unknown-device' } });
    });
});
