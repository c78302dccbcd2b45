/** The Node SDK `voucherify` 5.x ships no types; the tests use it as the backends that depend on it do. */
declare module 'voucherify' {
  const voucherify: (options: { applicationId: string; clientSecretKey: string; apiUrl?: string }) => any;
  export default voucherify;
}
