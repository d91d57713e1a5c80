using CsCheck;
using Liminal.Actors.Channels;

namespace Liminal.Actors.Tests.Channels;

/// <summary>
/// A partition's key window against a model that keeps every entry in a list: what it answers decides whether a
/// publish is a duplicate, so it must agree with the model for every sequence of stores and lookups, and rebuilding
/// it from its own columns (a snapshot) must change no answer.
/// </summary>
public sealed class KeyWindowTests
{
    private const long WindowMillis = 1_000;

    private abstract record Step;

    private sealed record Store(string Key, long AdvanceMillis) : Step;

    private sealed record Lookup(string Key, long AdvanceMillis) : Step;

    private sealed record Rebuild : Step;

    private static readonly Gen<Step> Steps = Gen.Frequency(
        (6, Gen.Select(Gen.Int[0, 12], Gen.Long[0, 400], (k, t) => (Step)new Store($"k{k}", t))),
        (4, Gen.Select(Gen.Int[0, 12], Gen.Long[0, 400], (k, t) => (Step)new Lookup($"k{k}", t))),
        (1, Gen.Const<Step>(new Rebuild())));

    [Fact]
    public void The_window_answers_as_a_list_of_the_newest_unexpired_keys_does_and_a_rebuild_from_its_columns_changes_nothing()
    {
        Gen.Select(Gen.Int[1, 6], Steps.Array[1, 80]).Sample((maxKeys, steps) =>
        {
            var window = new KeyWindow(TimeSpan.FromMilliseconds(WindowMillis), maxKeys);
            var model = new List<(string Key, long Seq, long At)>();
            long now = 0, seq = 0;
            foreach (var step in steps)
            {
                switch (step)
                {
                    case Store store:
                        now += store.AdvanceMillis;
                        // As a partition does: a key is stored only when the window does not know it.
                        if (window.Find(store.Key, now) is not null)
                            break;
                        seq++;
                        var evicted = window.Add(store.Key, new StoredKey(seq, now));
                        model.RemoveAll(e => e.At < now - WindowMillis || e.Key == store.Key);
                        model.Add((store.Key, seq, now));
                        var expectedEvictions = Math.Max(0, model.Count - maxKeys);
                        model.RemoveRange(0, expectedEvictions);
                        Assert.Equal(expectedEvictions, evicted);
                        break;
                    case Lookup lookup:
                        now += lookup.AdvanceMillis;
                        var found = window.Find(lookup.Key, now);
                        var expected = model.FindLast(e => e.Key == lookup.Key && e.At >= now - WindowMillis);
                        Assert.Equal(expected.Key is null ? null : new StoredKey(expected.Seq, expected.At), found);
                        break;
                    case Rebuild:
                        var (keys, sequenceNrs, storedAt) = window.ToColumns();
                        window = new KeyWindow(TimeSpan.FromMilliseconds(WindowMillis), maxKeys);
                        for (var i = 0; i < keys.Length; i++)
                            Assert.Equal(0, window.Add(keys[i], new StoredKey(sequenceNrs[i], storedAt[i])));
                        break;
                }
                Assert.True(window.Count <= maxKeys, $"{window.Count} keys held, at most {maxKeys} allowed");
            }
        }, iter: Math.Max(1_000, Properties.RecoveryProperty.Iterations));
    }

    [Fact]
    public void A_full_window_evicts_the_oldest_key_first()
    {
        var window = new KeyWindow(TimeSpan.FromHours(1), maxKeys: 2);
        window.Add("a", new StoredKey(1, 0));
        window.Add("b", new StoredKey(2, 0));

        Assert.Equal(1, window.Add("c", new StoredKey(3, 0)));

        Assert.Null(window.Find("a", 0));
        Assert.Equal(new StoredKey(2, 0), window.Find("b", 0));
        Assert.Equal(new StoredKey(3, 0), window.Find("c", 0));
    }
}
