import { describe, expect, test } from 'vitest';
import { parseBareHex, parseNumberLiteral } from '../../../language/parser/number-literal.js';

describe('number literals', () => {
    test.each([
        ['4096', 4096n],
        ['0x1000', 0x1000n],
        ['0X1f', 31n],
        ['0x4000_0000', 0x4000_0000n],
        ['1_000_000', 1_000_000n],
        ['0', 0n],
        ['4K', 4096n],
        ['2M', 2n * 1024n * 1024n],
        ['1G', 1n << 30n],
        ['1T', 1n << 40n],
        ['4KiB', 4096n],
        ['2MiB', 2n << 20n],
        ['16GiB', 16n << 30n],
        ['1TiB', 1n << 40n],
        ['0xffff_ffff_ffff_ffff', 0xffff_ffff_ffff_ffffn],
    ])('%s is %s', (text, value) => {
        expect(parseNumberLiteral(text)).toBe(value);
    });

    test.each(['0x', '4k', '_1', '1__0', '0x1K', '4KB', ''])('%s is no number', text => {
        expect(parseNumberLiteral(text)).toBeUndefined();
    });

    test('bare hex as Linux prints segments and IDs', () => {
        expect(parseBareHex('0000')).toBe(0);
        expect(parseBareHex('0010')).toBe(16);
        expect(parseBareHex('8086')).toBe(0x8086);
        expect(parseBareHex('0x1f')).toBe(31);
        expect(parseBareHex('xyz')).toBeUndefined();
    });
});
