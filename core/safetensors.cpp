// core/safetensors.cpp — the safetensors reader and the atomic writer (see core/safetensors.h). The reader trusts
// nothing in the file: every length, offset, dtype and shape is checked before a byte is copied.
#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/autograd.h"
#include "core/json_brief.h"

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace ganglion {
namespace {

using json = nlohmann::json;

// The format's own limit on the JSON header (the reference implementation refuses more than 100 MB).
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

std::string errno_str(int e) { return std::string(std::strerror(e)); }

// ---- Writing ----

// Closes the descriptor and removes the temporary file unless release() was called.
struct TempFile {
  std::string path;
  int fd = -1;
  bool keep = false;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!keep) ::unlink(path.c_str());
  }
};

void write_all(TempFile& f, const std::string& target, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(f.fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw Error("save_safetensors: writing '" + target + "' failed: " + errno_str(errno));
    }
    if (w == 0) throw Error("save_safetensors: writing '" + target + "' failed: no progress (device full?)");
    p += w;
    n -= static_cast<size_t>(w);
  }
}

const char* st_dtype(DType d) { return d == DType::F32 ? "F32" : "I32"; }

// Host copy of a tensor's bytes (the tensor itself when it already lives on the CPU).
Tensor host_tensor(const Tensor& t) {
  if (t.device().is_cpu()) return t;
  NoGradGuard ng;
  return t.to(Device::cpu());
}

const void* host_bytes(const Tensor& h) {
  return h.dtype() == DType::F32 ? static_cast<const void*>(h.data()) : static_cast<const void*>(h.data_i32());
}

// ---- Reading ----

// Where the bytes come from: an open file (pread) or a buffer in memory. Both readers share everything else.
struct Reader {
  std::string path;
  int fd = -1;
  const unsigned char* memory = nullptr;  // set for the in-memory reader
  uint64_t memory_size = 0;
  ~Reader() {
    if (fd >= 0) ::close(fd);
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("load_safetensors: '" + path + "': " + what);
  }
  void read_at(void* dst, size_t n, uint64_t off) const {
    char* p = static_cast<char*>(dst);
    if (memory) {
      if (off > memory_size || n > memory_size - off) fail("unexpected end of data (truncated?)");
      std::memcpy(p, memory + off, n);
      return;
    }
    while (n > 0) {
      ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
      if (r < 0) {
        if (errno == EINTR) continue;
        fail("read failed: " + errno_str(errno));
      }
      if (r == 0) fail("unexpected end of file (truncated?)");
      p += r;
      n -= static_cast<size_t>(r);
      off += static_cast<uint64_t>(r);
    }
  }
};

struct Entry {
  std::string name;
  std::string dtype;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

size_t st_dtype_size(const std::string& d) {
  if (d == "F32" || d == "I32") return 4;
  if (d == "F64" || d == "I64") return 8;
  if (d == "F16" || d == "BF16") return 2;
  return 0;
}

float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while ((man & 0x400u) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (man & 0x3ffu) << 13;
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | man << 13;  // inf / nan
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  return std::bit_cast<float>(bits);
}

float bf16_to_float(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

Entry parse_entry(const Reader& rd, const std::string& name, const json& v) {
  if (!v.is_object()) rd.fail("entry '" + name + "' is not a JSON object");
  Entry e;
  e.name = name;
  auto dt = v.find("dtype");
  if (dt == v.end() || !dt->is_string()) rd.fail("tensor '" + name + "' has no string \"dtype\"");
  e.dtype = dt->get<std::string>();
  if (st_dtype_size(e.dtype) == 0)
    rd.fail("tensor '" + name + "' has unknown or unsupported dtype '" + e.dtype +
            "' (supported: F32, F64, F16, BF16, I32, I64)");
  auto sh = v.find("shape");
  if (sh == v.end() || !sh->is_array()) rd.fail("tensor '" + name + "' has no \"shape\" array");
  // numel, and the product of the non-zero sizes, stay below 2^59 so that neither numel * 8 bytes nor any
  // stride of an empty tensor can overflow.
  constexpr uint64_t kMaxElements = uint64_t(1) << 59;
  uint64_t numel = 1, nonzero = 1;
  for (const auto& d : *sh) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0)
      rd.fail("tensor '" + name + "' has a shape entry that is not a non-negative integer: " + json_brief(d));
    uint64_t n = d.get<uint64_t>();
    if (n != 0 && nonzero > kMaxElements / n)
      rd.fail("tensor '" + name + "' has a shape too large (over 2^59 elements) at entry " + std::to_string(n));
    if (n != 0) nonzero *= n;
    numel *= n;
    e.shape.push_back(static_cast<int64_t>(n));
  }
  auto off = v.find("data_offsets");
  if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_integer() ||
      !(*off)[1].is_number_integer() || (*off)[0].get<int64_t>() < 0 || (*off)[1].get<int64_t>() < 0)
    rd.fail("tensor '" + name + "' needs \"data_offsets\" as two non-negative integers");
  e.begin = (*off)[0].get<uint64_t>();
  e.end = (*off)[1].get<uint64_t>();
  if (e.end < e.begin)
    rd.fail("tensor '" + name + "' has data_offsets [" + std::to_string(e.begin) + "," + std::to_string(e.end) +
            "] with end before begin");
  uint64_t want = numel * st_dtype_size(e.dtype);
  if (e.end - e.begin != want)
    rd.fail("tensor '" + name + "' data_offsets [" + std::to_string(e.begin) + "," + std::to_string(e.end) +
            "] span " + std::to_string(e.end - e.begin) + " bytes but shape " + shape_str(e.shape) + " of " +
            e.dtype + " needs " + std::to_string(want));
  return e;
}

Tensor load_entry(const Reader& rd, const Entry& e, uint64_t data_start) {
  const int64_t n = shape_numel(e.shape);
  const uint64_t bytes = e.end - e.begin;
  const bool is_int = e.dtype == "I32" || e.dtype == "I64";
  Tensor t = Tensor::empty(e.shape, Device::cpu(), is_int ? DType::I32 : DType::F32);
  if (n == 0) return t;
  if (e.dtype == "F32") {
    rd.read_at(t.data(), bytes, data_start + e.begin);
    return t;
  }
  if (e.dtype == "I32") {
    rd.read_at(t.data_i32(), bytes, data_start + e.begin);
    return t;
  }
  std::vector<unsigned char> raw(bytes);
  rd.read_at(raw.data(), bytes, data_start + e.begin);
  if (e.dtype == "I64") {
    int32_t* dst = t.data_i32();
    for (int64_t i = 0; i < n; ++i) {
      int64_t v;
      std::memcpy(&v, raw.data() + 8 * i, 8);
      if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
        rd.fail("tensor '" + e.name + "' (I64) holds " + std::to_string(v) + " at flat index " +
                std::to_string(i) + ", outside the int32 range it is converted to");
      dst[i] = static_cast<int32_t>(v);
    }
    return t;
  }
  float* dst = t.data();
  for (int64_t i = 0; i < n; ++i) {
    if (e.dtype == "F64") {
      double v;
      std::memcpy(&v, raw.data() + 8 * i, 8);
      dst[i] = static_cast<float>(v);
    } else {
      uint16_t h;
      std::memcpy(&h, raw.data() + 2 * i, 2);
      dst[i] = e.dtype == "F16" ? half_to_float(h) : bf16_to_float(h);
    }
  }
  return t;
}

// The whole reader: header length, JSON header, every entry's checks, then the tensors.
TensorMap read_safetensors(const Reader& rd, uint64_t size, std::map<std::string, std::string>* metadata) {
  if (size < 8) rd.fail("truncated: " + std::to_string(size) + " bytes, fewer than the 8-byte header length");
  unsigned char lenbuf[8];
  rd.read_at(lenbuf, 8, 0);
  uint64_t hlen = 0;
  for (int i = 0; i < 8; ++i) hlen |= static_cast<uint64_t>(lenbuf[i]) << (8 * i);
  if (hlen > size - 8)
    rd.fail("header length " + std::to_string(hlen) + " runs past the end of the file (" + std::to_string(size) +
            " bytes; truncated or not a safetensors file)");
  if (hlen > kMaxHeaderBytes) rd.fail("header length " + std::to_string(hlen) + " exceeds the 100 MB limit");
  if (hlen < 2) rd.fail("header length " + std::to_string(hlen) + " is too small for a JSON object");
  std::string text(hlen, '\0');
  rd.read_at(text.data(), hlen, 8);
  json header;
  try {
    header = json::parse(text);
  } catch (const json::exception& ex) {
    rd.fail(std::string("bad JSON header: ") + ex.what());
  }
  if (!header.is_object()) rd.fail("the JSON header is not an object");

  const uint64_t data_start = 8 + hlen;
  const uint64_t data_size = size - data_start;
  std::vector<Entry> entries;
  if (metadata) metadata->clear();
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) rd.fail("\"__metadata__\" is not an object of strings");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) rd.fail("\"__metadata__\" entry '" + m.key() + "' is not a string");
        if (metadata) (*metadata)[m.key()] = m->get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(rd, it.key(), *it));
  }
  // Offsets: inside the data section, no overlaps, and (as the format requires) no holes.
  std::vector<const Entry*> order;
  for (const Entry& e : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t covered = 0;
  for (const Entry* e : order) {
    if (e->end > data_size)
      rd.fail("tensor '" + e->name + "' data_offsets [" + std::to_string(e->begin) + "," + std::to_string(e->end) +
              "] run past the data section (" + std::to_string(data_size) + " bytes; truncated?)");
    if (e->begin < covered)
      rd.fail("tensor '" + e->name + "' data_offsets [" + std::to_string(e->begin) + "," + std::to_string(e->end) +
              "] overlap another tensor's data");
    if (e->begin > covered)
      rd.fail("a hole in the data section: bytes " + std::to_string(covered) + ".." + std::to_string(e->begin) +
              " belong to no tensor (before '" + e->name + "')");
    covered = e->end;
  }
  if (covered != data_size)
    rd.fail("the data section has " + std::to_string(data_size) + " bytes but the tensors cover " +
            std::to_string(covered));

  TensorMap out;
  for (const Entry& e : entries) out.emplace(e.name, load_entry(rd, e, data_start));
  return out;
}

}  // namespace

void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata) {
  if (path.empty()) throw Error("save_safetensors: empty path");
  // Host copies and the header, in the map's (sorted) order.
  std::vector<Tensor> hosts;
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") throw Error("save_safetensors: '" + path + "': '__metadata__' is reserved");
    if (!t.defined()) throw Error("save_safetensors: '" + path + "': tensor '" + name + "' is undefined");
    Tensor h = host_tensor(t);
    uint64_t bytes = static_cast<uint64_t>(h.numel()) * dtype_size(h.dtype());
    header[name] = {{"dtype", st_dtype(h.dtype())},
                    {"shape", h.shape()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    hosts.push_back(std::move(h));
  }
  if (!metadata.empty()) {
    json m = json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  std::string text;
  try {
    text = header.dump();  // throws on names or metadata that are not valid UTF-8
  } catch (const json::exception& ex) {
    throw Error("save_safetensors: '" + path + "': cannot encode the header: " + ex.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  uint64_t hlen = text.size();
  unsigned char lenbuf[8];
  for (int i = 0; i < 8; ++i) lenbuf[i] = static_cast<unsigned char>(hlen >> (8 * i));

  TempFile tmp;
  tmp.path = path + ".tmp." + std::to_string(::getpid());
  tmp.fd = ::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (tmp.fd < 0) {
    int e = errno;
    tmp.keep = true;  // nothing was created
    throw Error("save_safetensors: cannot create temporary file '" + tmp.path + "' for '" + path +
                "': " + errno_str(e));
  }
  write_all(tmp, path, lenbuf, 8);
  write_all(tmp, path, text.data(), text.size());
  for (const Tensor& h : hosts) {
    size_t bytes = static_cast<size_t>(h.numel()) * dtype_size(h.dtype());
    if (bytes) write_all(tmp, path, host_bytes(h), bytes);
  }
  if (::fsync(tmp.fd) != 0)
    throw Error("save_safetensors: flushing '" + path + "' to disk failed: " + errno_str(errno));
  int fd = tmp.fd;
  tmp.fd = -1;
  if (::close(fd) != 0) throw Error("save_safetensors: closing '" + path + "' failed: " + errno_str(errno));
  if (::rename(tmp.path.c_str(), path.c_str()) != 0)
    throw Error("save_safetensors: cannot rename '" + tmp.path + "' to '" + path + "': " + errno_str(errno));
  tmp.keep = true;
  // Make the rename itself durable (best effort: some filesystems refuse fsync on directories).
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

TensorMap load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  Reader rd;
  rd.path = path;
  rd.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (rd.fd < 0) rd.fail("cannot open: " + errno_str(errno));
  struct stat st;
  if (::fstat(rd.fd, &st) != 0) rd.fail("cannot stat: " + errno_str(errno));
  if (!S_ISREG(st.st_mode)) rd.fail("not a regular file");
  return read_safetensors(rd, static_cast<uint64_t>(st.st_size), metadata);
}

TensorMap load_safetensors_from_memory(const void* data, size_t size, const std::string& name,
                                       std::map<std::string, std::string>* metadata) {
  Reader rd;
  rd.path = name;
  rd.memory = static_cast<const unsigned char*>(data);
  rd.memory_size = size;
  if (!rd.memory && size > 0) rd.fail("no data");
  static const unsigned char empty = 0;
  if (!rd.memory) rd.memory = &empty;
  return read_safetensors(rd, size, metadata);
}

}  // namespace ganglion
