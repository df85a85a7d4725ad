/** Machine blocks: vocabulary, PCI addresses, names and attributes given twice. */

import { describe, expect, test } from 'vitest';
import { expectError, expectWarning } from 'langium/test';
import { isAcs, isEndpoint, isIommuUnit, isMachine, isPciSegment, isRootPort } from '../../../language/generated/ast.js';
import { describeDiagnostics, nodesOf, rangeOf, validate } from '../helpers.js';

describe('machine validation', () => {
    test('IOMMU kinds, features and modes are checked, with suggestions', async () => {
        const result = await validate(`machine m {
    iommu u0 intel-vdt { features coherent intr-remaps mode scaleable }
}`);
        const unit = nodesOf(result.document.parseResult.value, isIommuUnit)[0]!;
        expectError(result, "unknown IOMMU kind 'intel-vdt'; did you mean 'intel-vtd'? (kinds: intel-vtd, amd-vi, arm-smmu-v3)",
            { node: unit, property: 'kind', data: { code: 'unknown-iommu-kind' } });
        expectError(result, "unknown IOMMU feature 'intr-remaps'; did you mean 'intr-remap'?",
            { node: unit, property: { name: 'features', index: 1 }, data: { code: 'unknown-feature' } });
        expectError(result, "unknown mode 'scaleable'; did you mean 'scalable'? (modes: scalable, legacy)",
            { node: unit, property: 'mode', data: { code: 'unknown-mode' } });
    });

    test('ACS flags and reset methods are checked', async () => {
        const result = await validate(`machine m {
    pci 0000 { root-port 00:01.0 rp acs(sv rx) { endpoint 01:00.0 e { reset flr pwr } } }
}`);
        const acs = nodesOf(result.document.parseResult.value, isAcs)[0]!;
        const endpoint = nodesOf(result.document.parseResult.value, isEndpoint)[0]!;
        expectError(result, /^unknown ACS flag 'rx'; did you mean 'rr'/, { node: acs, property: { name: 'flags', index: 1 }, data: { code: 'unknown-acs-flag' } });
        expectError(result, /^unknown reset method 'pwr'/, { node: endpoint, property: { name: 'resets', index: 1 }, data: { code: 'unknown-reset-method' } });
    });

    test('PCI addresses: in their segment, device at most 1f, each used once', async () => {
        const result = await validate(`machine m {
    pci 0000 {
        endpoint 0001:01:00.0 a { }
        endpoint 01:20.0 b { }
        root-port 00:01.0 rp { endpoint 02:00.0 c { } }
        endpoint 02:00.0 d { }
    }
    pci 0001 { endpoint 02:00.0 e { } }
}`);
        const [a, b, , d] = nodesOf(result.document.parseResult.value, isEndpoint);
        expectError(result, '0001:01:00.0 is not in segment 0000 of its pci block', { node: a!, property: 'bdf', data: { code: 'invalid-bdf' } });
        expectError(result, '01:20.0: a PCI device number is at most 1f', { node: b!, property: 'bdf', data: { code: 'invalid-bdf' } });
        expectError(result, /^02:00.0 is already used by 'c'/, { node: d!, property: 'bdf', data: { code: 'duplicate-bdf' } });
        expect(describeDiagnostics(result.document)).toHaveLength(3);
    });

    test('a segment number is hex, at most ffff', async () => {
        const result = await validate('machine m { pci 10000 { } }');
        const segment = nodesOf(result.document.parseResult.value, isPciSegment)[0]!;
        expectError(result, 'a PCI segment is a hex number from 0000 to ffff', { node: segment, property: 'segment' });
    });

    test('names are unique in a machine', async () => {
        const result = await validate(`machine m {
    iommu u0 intel-vtd { }
    pci 0000 { root-port 00:01.0 nic0 { endpoint 01:00.0 nic0 { } } }
    mdev u0 parent nic0 emulated
}`);
        const endpoint = nodesOf(result.document.parseResult.value, isEndpoint)[0]!;
        expectError(result, /^'nic0' is already declared in machine 'm' \(line 3\)$/, { node: endpoint, property: 'name', data: { code: 'duplicate-name' } });
        expectError(result, /^'u0' is already declared/, { node: result.document.parseResult.value.machines[0]!.mdevs[0]!, property: 'name' });
    });

    test('single-valued attributes given twice warn at the last one; the last one counts', async () => {
        const text = `machine m {
    memory 8G
    memory 16G
    pci 0000 { root-port 00:01.0 rp driver a driver b { endpoint 01:00.0 e { driver x sriov 2 driver y } } }
}`;
        const result = await validate(text);
        expectWarning(result, "'memory' is given 2 times; the last one counts", { range: rangeOf(text, 'memory', 1), data: { code: 'duplicate-attribute' } });
        expectWarning(result, "'driver' is given 2 times; the last one counts", { range: rangeOf(text, 'driver', 1) });
        expectWarning(result, "'driver' is given 2 times; the last one counts", { range: rangeOf(text, 'driver', 3) });
        expect(nodesOf(result.document.parseResult.value, isEndpoint)[0]!.driver).toBe('y');
        expect(nodesOf(result.document.parseResult.value, isRootPort)[0]!.driver).toBe('b');
        expect(nodesOf(result.document.parseResult.value, isMachine)[0]!.memory).toMatchObject({ value: 16n << 30n });
    });

    test('kernel versions, constant sizes, units without a block', async () => {
        const result = await validate('machine m { kernel 6.12 memory 16G page-size 4K iommu u0 amd-vi iommu u1 arm-smmu-v3 { } }');
        expect(describeDiagnostics(result.document)).toEqual([]);
    });
});
