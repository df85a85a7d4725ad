import { describe, expect, test } from 'vitest';
import { closestNames, didYouMean, editDistance, formatAlternatives } from '../../language/closest-names.js';

describe('closest names', () => {
    test('edit distance counts insertions, deletions, substitutions and transpositions', () => {
        expect(editDistance('nic9', 'nic0')).toBe(1);
        expect(editDistance('grpoup', 'group')).toBe(1);
        expect(editDistance('gropu', 'group')).toBe(1);
        expect(editDistance('', 'abc')).toBe(3);
        expect(editDistance('same', 'same')).toBe(0);
    });

    test('suggests close names, best first, in the candidates order on ties', () => {
        expect(closestNames('nic9', ['gpu0', 'nic0', 'nic1', 'nvme0'])).toEqual(['nic0', 'nic1']);
        expect(closestNames('REED', ['READ', 'WRITE', 'VADDR'])).toEqual(['READ']);
        expect(closestNames('VFIO_GROUP_GET_STATU', ['VFIO_GROUP_GET_STATUS', 'VFIO_GROUP_SET_CONTAINER'])).toEqual(['VFIO_GROUP_GET_STATUS']);
    });

    test('suggests nothing far away, and never the name itself', () => {
        expect(closestNames('zzz', ['nic0', 'gpu0'])).toEqual([]);
        expect(closestNames('nic0', ['nic0'])).toEqual([]);
    });

    test('names containing the unknown one count as close', () => {
        expect(closestNames('container', ['vfio_container', 'group'])).toEqual(['vfio_container']);
    });

    test('formats alternatives and the whole hint', () => {
        expect(formatAlternatives(['a'])).toBe("'a'");
        expect(formatAlternatives(['a', 'b'])).toBe("'a' or 'b'");
        expect(formatAlternatives(['a', 'b', 'c'])).toBe("'a', 'b' or 'c'");
        expect(didYouMean('nic9', ['nic0', 'nic1'])).toBe("; did you mean 'nic0' or 'nic1'?");
        expect(didYouMean('zzz', ['nic0'])).toBe('');
    });
});
