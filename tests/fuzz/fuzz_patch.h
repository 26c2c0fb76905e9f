/* fuzz_patch.h - a fuzzer's input as a file, or as patches to one */
/*
 * For targets that read a file format. The first byte of an input
 * chooses: even, the rest is the whole file; odd, the rest is a list of
 * (3-byte offset, byte) pairs, each offset taken modulo the size of a
 * real sample file, applied to a copy of it, so the fuzzer also reaches
 * the parts of the format it could not build from nothing.
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

/* fuzz_image - the file the input data (size bytes) stands for, as
   above, malloc'd, its size in *len; NULL if none */
static inline uint8_t *
fuzz_image(const uint8_t *data, size_t size, const void *sample,
    size_t sample_size, size_t *len)
{
	uint8_t *img;

	if (size < 1)
		return NULL;
	if (data[0] & 1) {
		*len = sample_size;
		return fuzz_patched(sample, sample_size, data + 1, size - 1);
	}
	if ((img = malloc(size)) == NULL)
		return NULL;
	memcpy(img, data + 1, size - 1);
	*len = size - 1;
	return img;
}

#endif
