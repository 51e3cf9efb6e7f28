// Kubernetes resource quantities ("250m", "1Gi", "1e3") as plain numbers in base units: cores for cpu, bytes
// for memory. Quantities cross the process boundary (pod specs, PodMetrics), so anything malformed is undefined.

const SUFFIX: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

// A decimal exponent ("1e3", "5E-2") wins over the exa suffix "E" when digits follow it, as in apimachinery.
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;

export function parseQuantity(quantity: string): number | undefined {
  const match = QUANTITY.exec(quantity.trim());
  if (!match) return undefined;
  const [, mantissa = '', exponent, suffix = ''] = match;
  const value = exponent === undefined ? Number(mantissa) * (SUFFIX[suffix] ?? Number.NaN) : Number(mantissa + exponent);
  return Number.isFinite(value) ? value : undefined;
}
