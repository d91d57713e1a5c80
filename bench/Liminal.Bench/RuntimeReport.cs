using System.Diagnostics;
using System.Runtime;

namespace Liminal.Bench;

/// <summary>
/// Garbage collections, pause time, JIT compilations and the process's CPU time over a measured span, printed beside its
/// figures. CPU time per unit of work is the steadier figure on a shared machine: it does not count the time another
/// process held the cores.
/// </summary>
internal readonly struct RuntimeReport
{
    private readonly int[] _collections;
    private readonly TimeSpan _paused;
    private readonly long _compiledMethods;
    private readonly long _allocatedBytes;
    private readonly TimeSpan _cpu;

    private RuntimeReport(int[] collections, TimeSpan paused, long compiledMethods, long allocatedBytes, TimeSpan cpu)
    {
        _cpu = cpu;
        _collections = collections;
        _paused = paused;
        _compiledMethods = compiledMethods;
        _allocatedBytes = allocatedBytes;
    }

    public static RuntimeReport Start() =>
        new([GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)], GC.GetTotalPauseDuration(),
            JitInfo.GetCompiledMethodCount(), GC.GetTotalAllocatedBytes(), ProcessCpu());

    /// <summary>CPU time (user and system, every thread) the process used since <see cref="Start"/>.</summary>
    public TimeSpan CpuUsed => ProcessCpu() - _cpu;

    private static TimeSpan ProcessCpu() => Process.GetCurrentProcess().TotalProcessorTime;

    /// <summary>
    /// Runs <paramref name="round"/> (given its number) until a round makes the JIT compile fewer than
    /// <paramref name="settledBelow"/> methods, at most <paramref name="maxRounds"/> times: tiered compilation
    /// recompiles hot code for seconds after start, and a bus runs for days, so the figures are taken after it.
    /// </summary>
    public static async Task WarmUpAsync(string label, Func<int, Task> round, int maxRounds = 10, long settledBelow = 100)
    {
        for (var i = 0; i < maxRounds; i++)
        {
            var before = JitInfo.GetCompiledMethodCount();
            await round(i);
            var compiled = JitInfo.GetCompiledMethodCount() - before;
            if (compiled < settledBelow || i == maxRounds - 1)
            {
                Console.WriteLine($"{label} warm-up: {i + 1} round(s), the last compiled {compiled:N0} methods");
                return;
            }
        }
    }

    public override string ToString() =>
        $"GC: gen0 {GC.CollectionCount(0) - _collections[0]}, gen1 {GC.CollectionCount(1) - _collections[1]}, " +
        $"gen2 {GC.CollectionCount(2) - _collections[2]}, paused {(GC.GetTotalPauseDuration() - _paused).TotalMilliseconds:N0} ms, " +
        $"{(GC.GetTotalAllocatedBytes() - _allocatedBytes) / (1024.0 * 1024):N0} MiB allocated; " +
        $"JIT: {JitInfo.GetCompiledMethodCount() - _compiledMethods:N0} methods compiled; CPU {CpuUsed.TotalSeconds:N1} s";
}
