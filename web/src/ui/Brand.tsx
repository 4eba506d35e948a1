export function Brand() {
  return (
    <a class="brand" href="/">
      <img src="/favicon.svg" alt="" width={28} height={28} />
      <span>Telebridge</span>
    </a>
  );
}
