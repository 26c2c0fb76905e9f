/* fuzz_patch.h - a fuzzer's input as patches to a sample file */
/*
 * For targets that mutate a real file rather than build one from
 * nothing: the input is a list of (3-byte offset, byte) pairs, each
 * offset taken modulo the sample's size, applied to a copy.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef GK_FUZZ_PATCH_H
#define GK_FUZZ_PATCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* fuzz_patched - a malloc'd copy of sample with the patches in data
   (size bytes) applied, or NULL */
static inline uint8_t *
fuzz_patched(const void *sample, size_t sample_size, const uint8_t *data,
    size_t size)
{
	uint8_t *img;
	size_t i, at;

	if (sample_size == 0 || (img = malloc(sample_size)) == NULL)
		return NULL;
	memcpy(img, sample, sample_size);
	for (i = 0; i + 4 <= size; i += 4) {
		at = ((size_t)data[i] << 16 | (size_t)data[i + 1] << 8 |
		    data[i + 2]) % sample_size;
		img[at] = data[i + 3];
	}
	return img;
}

#endif
