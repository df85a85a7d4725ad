import { describe, expect, test } from 'vitest';
import { completeLaunch } from '../../client/views/launch.js';

describe('F5', () => {
    test('without a launch.json: the active file, stopping on entry', () => {
        expect(completeLaunch({}, '/w/a.iommu')).toEqual({ type: 'iommu', request: 'launch', name: 'Debug IOMMU scenario', program: '/w/a.iommu', stopOnEntry: true });
        expect(completeLaunch({}, undefined)).toBe('no-file');
    });

    test('a configuration without program gets the active file; one with program is kept', () => {
        expect(completeLaunch({ type: 'iommu', request: 'launch', name: 'x', scenario: 's' }, '/w/a.iommu'))
            .toEqual({ type: 'iommu', request: 'launch', name: 'x', scenario: 's', program: '/w/a.iommu' });
        expect(completeLaunch({ type: 'iommu', request: 'launch', name: 'x' }, undefined)).toBe('no-file');
        const full = { type: 'iommu', request: 'launch', name: 'x', program: '/w/b.iommu' };
        expect(completeLaunch(full, '/w/a.iommu')).toBe(full);
    });
});
