// SPDX-License-Identifier: Apache-2.0
// Tiling drivers of the GEMM fragments: they walk an output block in register tiles (R weight
// rows x C activation rows) and hand each tile to a kernel; no arithmetic of their own.

// Walks an nr x nc output block in R x C tiles, columns outer: C activation rows stay in L1
// while the (smaller) weight rows stream past. Remainders use R x 1, 1 x C and 1 x 1 tiles.
// at(std::integral_constant<int, R'>{}, std::integral_constant<int, C'>{}, r, c) runs one tile.
template <int R, int C, class At>
void drive_tiles(int nr, int nc, At at) {
  using std::integral_constant;
  int c = 0;
  for (; c + C <= nc; c += C) {
    int r = 0;
    for (; r + R <= nr; r += R) at(integral_constant<int, R>{}, integral_constant<int, C>{}, r, c);
    for (; r < nr; ++r) at(integral_constant<int, 1>{}, integral_constant<int, C>{}, r, c);
  }
  for (; c < nc; ++c) {
    int r = 0;
    for (; r + R <= nr; r += R) at(integral_constant<int, R>{}, integral_constant<int, 1>{}, r, c);
    for (; r < nr; ++r) at(integral_constant<int, 1>{}, integral_constant<int, 1>{}, r, c);
  }
}

// Tiles whose activation rows are passed as pointers (k-quants and float weights).
template <template <int, int> class T, int R, int C>
void gemm_rows(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
               size_t ys) {
  auto at = [&](auto tile, int r, int c, int cn) {
    const uint8_t* xp[C];
    for (int i = 0; i < cn; ++i) xp[i] = x + (c + i) * xs;
    tile(k, w + r * ws, ws, xp, y + c * ys + r, ys);
  };
  if (nc == 1) {
    for (int r = 0; r < nr; ++r) at(T<1, 1>::run, r, 0, 1);  // sequential stream, as above
    return;
  }
  drive_tiles<R, C>(nr, nc, [&](auto tr, auto tc, int r, int c) {
    at(T<decltype(tr)::value, decltype(tc)::value>::run, r, c, decltype(tc)::value);
  });
}

// Panels of 16 rows, C activation columns at a time (columns outer, as drive_tiles, so a tile's
// activation rows stay in L1 while the panels stream past). ws: bytes per row in the file layout.
template <int C, template <int> class Tile>
void drive_panels(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                  size_t ys) {
  const int64_t nb = k / 32;
  auto cols = [&](auto cn, int c0) {
    constexpr int N = decltype(cn)::value;
    Q8Row xr[N];
    for (int i = 0; i < N; ++i) xr[i] = q8_row(x + static_cast<size_t>(c0 + i) * xs, k);
    for (int p = 0; p < nr / 16; ++p)
      Tile<N>::run(nb, w + static_cast<size_t>(p) * 16 * ws, xr, y + c0 * ys + 16 * p, ys);
  };
  using std::integral_constant;
  int c = 0;
  for (; c + C <= nc; c += C) cols(integral_constant<int, C>{}, c);
  for (; c + 2 <= nc; c += 2) cols(integral_constant<int, 2>{}, c);
  if (c < nc) cols(integral_constant<int, 1>{}, c);
}
