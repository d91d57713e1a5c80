using System.Collections.ObjectModel;
using System.Diagnostics;
using Liminal.Actors.Tracing;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Liminal.Actors.Tests.TestSupport;

/// <summary>
/// OpenTelemetry's in-memory exporter over the bus's <see cref="ActivitySource"/> (and the test's own producer source).
/// Every test class of the process shares the source, so a spec reads the spans of its own trace only.
/// </summary>
public sealed class RecordedSpans : IDisposable
{
    /// <summary>The source a spec's producer spans come from.</summary>
    public static readonly ActivitySource Producer = new("Liminal.Tests.Producer");

    private readonly LockedCollection _spans = new();
    private readonly TracerProvider _provider;

    public RecordedSpans() =>
        _provider = Sdk.CreateTracerProviderBuilder()
            .AddSource(LiminalTracing.SourceName, Producer.Name)
            .AddInMemoryExporter(_spans)
            .Build();

    /// <summary>The finished spans of <paramref name="traceId"/>.</summary>
    public IReadOnlyList<Activity> Of(ActivityTraceId traceId)
    {
        _provider.ForceFlush();
        return _spans.Where(span => span.TraceId == traceId);
    }

    public void Dispose() => _provider.Dispose();

    // Spans of other specs are exported from their threads meanwhile.
    private sealed class LockedCollection : Collection<Activity>
    {
        private readonly Lock _lock = new();

        protected override void InsertItem(int index, Activity item)
        {
            lock (_lock)
                base.InsertItem(index, item);
        }

        public IReadOnlyList<Activity> Where(Func<Activity, bool> predicate)
        {
            lock (_lock)
                return Items.Where(predicate).ToList();
        }
    }
}
