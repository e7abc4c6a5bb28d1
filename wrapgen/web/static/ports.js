// The link check of wrapgen/web/ports.py, for the canvas (tests hold the two to one table).
const TYPE = /^([A-Za-z_][A-Za-z0-9_]*)(?:\[([^\[\]]*)\])?$/;
export const ANY = "*";

export function parse(text) {
  const m = TYPE.exec(String(text).trim());
  if (!m) throw new Error(`${JSON.stringify(text)} is not a port type (DTYPE, DTYPE[dims] or *)`);
  const dims = m[2] === undefined ? null : m[2].split(",").map((d) => d.trim()).filter((d) => d);
  return [m[1], dims];
}

// Why an output of outType cannot feed an input of inType, or null if it can.
export function mismatch(outType, inType) {
  if (outType === ANY || inType === ANY) return null;
  const [od, odims] = parse(outType), [idd, idims] = parse(inType);
  let why = null;
  if (od !== idd && od !== "any" && idd !== "any") why = "dtype differs";
  else if ((odims === null) !== (idims === null))
    why = idims === null ? "an array cannot feed a scalar" : "a scalar cannot feed an array";
  else if (odims !== null && idims !== null && !odims.concat(idims).includes("...") && odims.length !== idims.length)
    why = `rank differs (${odims.length} vs ${idims.length})`;
  return why === null ? null : `${outType} → ${inType}: ${why}`;
}
