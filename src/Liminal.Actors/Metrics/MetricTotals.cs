using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Liminal.Actors.Metrics;

/// <summary>
/// Reads one actor system's <see cref="LiminalMetrics"/> in process, through a <see cref="MeterListener"/>: what each
/// counter and histogram recorded since this was created, and what the gauges read now. For tests, benchmarks and
/// callers without an exporter; a host exports the same instruments through OpenTelemetry.
/// </summary>
public sealed class MetricTotals : IDisposable
{
    private readonly MeterListener _listener = new();
    // Instrument name and the values of its tags (in order) -> total. Histograms: count under Count, sum under Sum.
    private readonly ConcurrentDictionary<(string Name, string Tags), long> _counters = new();
    private readonly ConcurrentDictionary<(string Name, string Tags), long> _gauges = new();
    private readonly ConcurrentDictionary<string, (long Count, double Sum)> _histograms = new();

    internal MetricTotals(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter))
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = (instrument.Name, TagValues(tags));
            if (instrument is ObservableGauge<long>)
                _gauges[key] = value;
            else
                _counters.AddOrUpdate(key, value, (_, total) => total + value);
        });
        _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
            _histograms.AddOrUpdate(instrument.Name, (1, value), (_, total) => (total.Count + 1, total.Sum + value)));
        _listener.Start();
    }

    /// <summary>
    /// The total of a counter since this was created, over every series, or over those whose tags have
    /// <paramref name="tagValues"/> (in the order the instrument's documentation gives them).
    /// </summary>
    public long Counter(string name, params object[] tagValues) =>
        _counters.Where(c => c.Key.Name == name && Matches(c.Key.Tags, tagValues)).Sum(c => c.Value);

    /// <summary>How many values a histogram recorded since this was created, and their sum.</summary>
    public (long Count, double Sum) Histogram(string name) => _histograms.GetValueOrDefault(name);

    /// <summary>A gauge now, summed over its series (or over those whose tags have <paramref name="tagValues"/>).</summary>
    public long Gauge(string name, params object[] tagValues)
    {
        _gauges.Clear();
        _listener.RecordObservableInstruments();
        return _gauges.Where(g => g.Key.Name == name && Matches(g.Key.Tags, tagValues)).Sum(g => g.Value);
    }

    public void Dispose() => _listener.Dispose();

    private static string TagValues(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
            return "";
        var values = new string[tags.Length];
        for (var i = 0; i < tags.Length; i++)
            values[i] = Convert.ToString(tags[i].Value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
        return string.Join('\u001f', values);
    }

    private static bool Matches(string tags, object[] tagValues) =>
        tagValues.Length == 0 || tags.Split('\u001f').Take(tagValues.Length)
            .SequenceEqual(tagValues.Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? ""));
}
