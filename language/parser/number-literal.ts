/**
 * Numbers as the language writes them: decimal `4096`, hex `0x1000`, `_` between digits
 * (`0x4000_0000`), and binary size suffixes `K M G T` / `KiB MiB GiB TiB` (`4K` = 4096).
 */

const SUFFIX_SHIFT: Readonly<Record<string, bigint>> = {
    K: 10n, KiB: 10n,
    M: 20n, MiB: 20n,
    G: 30n, GiB: 30n,
    T: 40n, TiB: 40n,
};

const NUMBER_TEXT = /^(?:(0[xX][0-9a-fA-F](?:_?[0-9a-fA-F])*)|([0-9](?:_?[0-9])*)(KiB|MiB|GiB|TiB|K|M|G|T)?)$/;

/** The value of a number literal, or undefined if `text` is not one. */
export function parseNumberLiteral(text: string): bigint | undefined {
    const match = NUMBER_TEXT.exec(text);
    if (!match) {
        return undefined;
    }
    const [, hex, decimal, suffix] = match;
    if (hex !== undefined) {
        return BigInt(hex.replace(/_/g, ''));
    }
    const value = BigInt(decimal!.replace(/_/g, ''));
    return suffix === undefined ? value : value << SUFFIX_SHIFT[suffix]!;
}

/** A hex number written without `0x`, as Linux prints PCI segments and IDs (`0000`, `8086`). */
export function parseBareHex(text: string): number | undefined {
    const digits = text.replace(/^0[xX]/, '').replace(/_/g, '');
    return /^[0-9a-fA-F]+$/.test(digits) ? parseInt(digits, 16) : undefined;
}
