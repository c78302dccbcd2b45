declare module 'voucher-code-generator' {
  interface Config {
    count?: number;
    length?: number;
    charset?: string;
    pattern?: string;
    prefix?: string;
    postfix?: string;
  }
  const voucherCodes: { generate(config: Config): string[]; charset(name: string): string };
  export default voucherCodes;
}
