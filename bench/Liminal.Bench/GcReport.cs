namespace Liminal.Bench;

/// <summary>Garbage collections and pause time over a measured span, printed beside its figures.</summary>
internal readonly struct GcReport
{
    private readonly int[] _collections;
    private readonly TimeSpan _paused;

    private GcReport(int[] collections, TimeSpan paused)
    {
        _collections = collections;
        _paused = paused;
    }

    public static GcReport Start() =>
        new([GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)], GC.GetTotalPauseDuration());

    public override string ToString() =>
        $"GC: gen0 {GC.CollectionCount(0) - _collections[0]}, gen1 {GC.CollectionCount(1) - _collections[1]}, " +
        $"gen2 {GC.CollectionCount(2) - _collections[2]}, paused {(GC.GetTotalPauseDuration() - _paused).TotalMilliseconds:N0} ms";
}
