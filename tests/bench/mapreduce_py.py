"""mapreduce_py.py - listing 6.8 in Python: 50,000-line chunks of an ngram file
mapped in a multiprocessing pool, reduced in the parent.

    python3 mapreduce_py.py FILE [LINES]     prints "python mapreduce_s <seconds> words <n>" """
import concurrent.futures
import functools
import sys
import time


def partition(data, chunk_size):
    for i in range(0, len(data), chunk_size):
        yield data[i:i + chunk_size]


def map_frequencies(chunk):
    counter = {}
    for line in chunk:
        word, _, count, _ = line.split('\t')
        counter[word] = counter.get(word, 0) + int(count)
    return counter


def merge_dictionaries(first, second):
    merged = first
    for key in second:
        merged[key] = merged.get(key, 0) + second[key]
    return merged


def main():
    path = sys.argv[1]
    lines = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
    with open(path, encoding='utf-8') as f:
        contents = f.readlines()
    start = time.monotonic()
    with concurrent.futures.ProcessPoolExecutor() as pool:
        mapped = list(pool.map(map_frequencies, partition(contents, lines)))
    result = functools.reduce(merge_dictionaries, mapped)
    print(f'python mapreduce_s {time.monotonic() - start:.3f} words {len(result)}')


if __name__ == '__main__':
    main()
