// `net.isIP` without node:net: importing node:net loads all of Node's streams,
// and the library's entry reaches this module when imported (issue 17). The
// patterns are those of Node's own implementation (lib/internal/net.js);
// test/app/unit/ip-family.test.ts checks the two agree.
const V4_SEG = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
const V4 = `(?:${V4_SEG}\\.){3}${V4_SEG}`;
const V6_SEG = '(?:[0-9a-fA-F]{1,4})';
// Built on first use: the library's entry reaches this module, and building them costs every import ~0.2 ms.
let patterns: { readonly v4: RegExp; readonly v6: RegExp } | undefined;
const buildPatterns = () => ({
  v4: new RegExp(`^${V4}$`),
  v6: new RegExp(
    '^(?:' +
      `(?:${V6_SEG}:){7}(?:${V6_SEG}|:)|` +
      `(?:${V6_SEG}:){6}(?:${V4}|:${V6_SEG}|:)|` +
      `(?:${V6_SEG}:){5}(?::${V4}|(?::${V6_SEG}){1,2}|:)|` +
      `(?:${V6_SEG}:){4}(?:(?::${V6_SEG}){0,1}:${V4}|(?::${V6_SEG}){1,3}|:)|` +
      `(?:${V6_SEG}:){3}(?:(?::${V6_SEG}){0,2}:${V4}|(?::${V6_SEG}){1,4}|:)|` +
      `(?:${V6_SEG}:){2}(?:(?::${V6_SEG}){0,3}:${V4}|(?::${V6_SEG}){1,5}|:)|` +
      `(?:${V6_SEG}:){1}(?:(?::${V6_SEG}){0,4}:${V4}|(?::${V6_SEG}){1,6}|:)|` +
      `(?::(?:(?::${V6_SEG}){0,5}:${V4}|(?::${V6_SEG}){1,7}|:))` +
      ')(?:%[0-9a-zA-Z-.:]{1,})?$',
  ),
});

/** 4 for an IPv4 literal, 6 for an IPv6 literal (a zone id allowed), else 0: as `net.isIP`. */
export function ipFamily(input: string): 0 | 4 | 6 {
  patterns ??= buildPatterns();
  if (patterns.v4.test(input)) return 4;
  if (patterns.v6.test(input)) return 6;
  return 0;
}
