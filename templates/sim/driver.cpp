// sparqgen co-simulation driver: streams batches of input records from stdin
// through the Verilated model and writes the sampled outputs to stdout.
// Hand-written and the same for every design; sim_adapter.h (generated)
// pokes and peeks the ports of the harness top. Expected values and the
// verdict live in sparqgen (Rust): this program only simulates.
//
// Protocol (little-endian uint32 words):
//   driver -> sparqgen, once: SIM_MAGIC, SIM_PROTOCOL, SIM_IN_WORDS, SIM_OUT_WORDS
//   sparqgen -> driver: n, then n records of (1 + SIM_IN_WORDS) words:
//     flags (FLAG_*), then the input bus words
//   driver -> sparqgen, per batch: m, then m records of SIM_OUT_WORDS words,
//     one per record whose flags had FLAG_SAMPLE (outputs after its edge)
//   n == 0 ends the run: the driver answers 0, the cycle count and the CPU
//     time it used in microseconds (2 words each, low first) and exits 0.
// Exit codes: 0 clean end, 3 protocol or I/O error (message on stderr).

#include "sim_adapter.h"

#include <verilated.h>
#if VM_TRACE
#include <verilated_vcd_c.h>
#endif

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <memory>
#include <unistd.h>
#include <vector>

namespace {

constexpr uint32_t SIM_MAGIC = 0x48515053u;  // "SPQH"
constexpr uint32_t SIM_PROTOCOL = 3;
constexpr uint32_t FLAG_SAMPLE = 1u << 0;     // send the outputs after this edge
constexpr uint32_t FLAG_TRACE_ON = 1u << 2;   // start dumping with this cycle
constexpr uint32_t FLAG_TRACE_OFF = 1u << 3;  // stop dumping after this cycle
constexpr size_t REC_WORDS = 1 + SIM_IN_WORDS;

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "sparqgen sim driver: %s\n", what);
    std::exit(3);
}

// Read exactly n bytes; false on a clean end of input before the first byte.
bool read_full(void* buf, size_t n) {
    char* p = static_cast<char*>(buf);
    size_t got = 0;
    while (got < n) {
        ssize_t r = ::read(0, p + got, n - got);
        if (r == 0) {
            if (got == 0) return false;
            die("input ended inside a batch");
        }
        if (r < 0) {
            if (errno == EINTR) continue;
            die("cannot read standard input");
        }
        got += static_cast<size_t>(r);
    }
    return true;
}

void write_full(const void* buf, size_t n) {
    const char* p = static_cast<const char*>(buf);
    while (n > 0) {
        ssize_t w = ::write(1, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            die("cannot write standard output");
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const char* vcd_path = nullptr;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--vcd") == 0 && i + 1 < argc) {
            vcd_path = argv[++i];
        } else {
            die("usage: harness [--vcd FILE]");
        }
    }
#ifdef F_SETPIPE_SZ
    // Larger pipes mean fewer context switches per batch; harmless if refused.
    (void)::fcntl(0, F_SETPIPE_SZ, 1 << 20);
    (void)::fcntl(1, F_SETPIPE_SZ, 1 << 20);
#endif
    auto ctx = std::make_unique<VerilatedContext>();
    ctx->fatalOnError(true);
    auto top = std::make_unique<SimTop>(ctx.get());
#if VM_TRACE
    std::unique_ptr<VerilatedVcdC> vcd;
    bool dumping = false;
    if (vcd_path) {
        ctx->traceEverOn(true);
        vcd = std::make_unique<VerilatedVcdC>();
        top->trace(vcd.get(), 99);
        vcd->open(vcd_path);
    }
#else
    if (vcd_path) die("--vcd needs a harness built with tracing");
#endif
    top->clk_i = 0;
    top->eval();

    const uint32_t hello[4] = {SIM_MAGIC, SIM_PROTOCOL, SIM_IN_WORDS, SIM_OUT_WORDS};
    write_full(hello, sizeof hello);

    std::vector<uint32_t> in;
    std::vector<uint32_t> out;
    uint64_t cycles = 0;
    for (;;) {
        uint32_t n = 0;
        if (!read_full(&n, sizeof n)) die("input ended without the closing batch");
        if (n == 0) break;
        in.resize(static_cast<size_t>(n) * REC_WORDS);
        read_full(in.data(), in.size() * sizeof(uint32_t));
        out.resize(1 + static_cast<size_t>(n) * SIM_OUT_WORDS);
        uint32_t m = 0;
        const uint32_t* rec = in.data();
        for (uint32_t i = 0; i < n; ++i, rec += REC_WORDS) {
            const uint32_t flags = rec[0];
            // Low phase: inputs change (each member's reset is a bit of its
            // control word), combinational logic settles.
            sim_poke(top.get(), rec + 1);
            top->clk_i = 0;
            top->eval();
#if VM_TRACE
            if (vcd && (flags & FLAG_TRACE_ON)) dumping = true;
            if (dumping) vcd->dump(cycles * 10);
#endif
            // Rising edge: registers load.
            top->clk_i = 1;
            top->eval();
#if VM_TRACE
            if (dumping) vcd->dump(cycles * 10 + 5);
            if (flags & FLAG_TRACE_OFF) {
                dumping = false;
                if (vcd) vcd->flush();
            }
#endif
            if (flags & FLAG_SAMPLE) {
                sim_peek(top.get(), out.data() + 1 + static_cast<size_t>(m) * SIM_OUT_WORDS);
                ++m;
            }
            ++cycles;
        }
        out[0] = m;
        write_full(out.data(), (1 + static_cast<size_t>(m) * SIM_OUT_WORDS) * sizeof(uint32_t));
    }
    const uint64_t cpu_us =
        static_cast<uint64_t>(std::clock()) * 1000000u / static_cast<uint64_t>(CLOCKS_PER_SEC);
    const uint32_t bye[5] = {0, static_cast<uint32_t>(cycles), static_cast<uint32_t>(cycles >> 32),
                             static_cast<uint32_t>(cpu_us), static_cast<uint32_t>(cpu_us >> 32)};
    write_full(bye, sizeof bye);
    top->final();
#if VM_TRACE
    if (vcd) vcd->close();
#endif
    return 0;
}
