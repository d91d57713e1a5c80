using System.Buffers;
using System.Globalization;
using System.Text;

namespace Liminal.Actors.Validation;

/// <summary>
/// What one kind of text entering the bus (an id, a key, a name) must be, and what is wrong with a text that is not.
/// Every rule asks for 1 to <see cref="MaxLength"/> characters (or UTF-8 bytes) of well-formed UTF-16: a lone
/// surrogate is stored as U+FFFD, so after a restart it would be another id (and two such ids the same one).
/// </summary>
public sealed class TextRule
{
    private readonly bool _countsUtf8Bytes;
    private readonly bool _allowsControlCharacters;
    // Null: any text. Otherwise a name of ASCII letters, digits and these punctuation characters.
    private readonly string? _namePunctuation;

    private TextRule(string what, int maxLength, bool countsUtf8Bytes, bool allowsControlCharacters, string? namePunctuation)
    {
        What = what;
        MaxLength = maxLength;
        _countsUtf8Bytes = countsUtf8Bytes;
        _allowsControlCharacters = allowsControlCharacters;
        _namePunctuation = namePunctuation;
    }

    /// <summary>What the text is, as a rejection names it ("conversation id").</summary>
    public string What { get; }

    /// <summary>The most characters (UTF-16 code units) or, for a rule that counts them, UTF-8 bytes.</summary>
    public int MaxLength { get; }

    /// <summary>Text stored inside an event: any well-formed UTF-16, control characters included (JSON escapes them).</summary>
    public static TextRule Text(string what, int maxCharacters) => new(what, maxCharacters, false, true, null);

    /// <summary>Like <see cref="Text"/>, its length counted in UTF-8 bytes.</summary>
    public static TextRule Utf8Text(string what, int maxBytes) => new(what, maxBytes, true, true, null);

    /// <summary>Like <see cref="Id"/>, its length counted in UTF-8 bytes.</summary>
    public static TextRule Utf8Id(string what, int maxBytes) => new(what, maxBytes, true, false, null);

    /// <summary>Text without control characters (a file path, an id that names something outside an event).</summary>
    public static TextRule Id(string what, int maxCharacters) => new(what, maxCharacters, false, false, null);

    /// <summary>
    /// The id part of a persistence id <c>{prefix}{id}</c>: it must fit the journal's 255 characters after the prefix
    /// and hold no control characters (PostgreSQL's <c>text</c> cannot hold NUL: the write and every recovery fail).
    /// </summary>
    public static TextRule PersistenceIdPart(string what, string prefix) => Id(what, InputRules.MaxPersistenceIdLength - prefix.Length);

    /// <summary>A name of ASCII letters, digits and <paramref name="punctuation"/> (actor names, persistence ids, file-safe).</summary>
    public static TextRule Name(string what, int maxCharacters, string punctuation) => new(what, maxCharacters, false, false, punctuation);

    public bool IsValid(string? text) => Problem(text) is null;

    /// <summary>What is wrong with <paramref name="text"/>, or null when it is valid. Never quotes the text itself.</summary>
    public string? Problem(string? text)
    {
        if (text is null)
            return $"{What} is missing";
        if (text.Length == 0)
            return $"{What} is empty";
        // Length first: it bounds the scan below.
        var length = _countsUtf8Bytes ? Encoding.UTF8.GetByteCount(text) : text.Length;
        if (length > MaxLength)
            return $"{What} is {length} {Unit} long; at most {MaxLength}";
        if (_namePunctuation is not null)
        {
            for (var i = 0; i < text.Length; i++)
            {
                if (!char.IsAsciiLetterOrDigit(text[i]) && !_namePunctuation.Contains(text[i]))
                    return $"{What} has {Show(text[i])} at index {i}; only letters, digits and {Punctuation} are allowed";
            }
            return null;
        }
        if (FirstUnpairedSurrogate(text) is >= 0 and var at)
            return $"{What} has an unpaired surrogate {Show(text[at])} at index {at}: not well-formed UTF-16, it would be stored as U+FFFD";
        if (!_allowsControlCharacters && text.AsSpan().IndexOfAny(ControlCharacters) is >= 0 and var control)
            return $"{What} has the control character {Show(text[control])} at index {control}, which a persistence id cannot hold";
        return null;
    }

    /// <summary>True when every surrogate in <paramref name="text"/> is half of a pair, so it round-trips through UTF-8.</summary>
    public static bool IsWellFormedUtf16(ReadOnlySpan<char> text) => FirstUnpairedSurrogate(text) < 0;

    private static int FirstUnpairedSurrogate(ReadOnlySpan<char> text)
    {
        var i = text.IndexOfAnyInRange('\uD800', '\uDFFF');
        if (i < 0)
            return -1;
        for (; i < text.Length; i++)
        {
            if (!char.IsSurrogate(text[i]))
                continue;
            if (!char.IsHighSurrogate(text[i]) || i + 1 == text.Length || !char.IsLowSurrogate(text[i + 1]))
                return i;
            i++;
        }
        return -1;
    }

    // char.IsControl: C0, DEL and C1.
    private static readonly SearchValues<char> ControlCharacters =
        SearchValues.Create([.. Enumerable.Range(0, 0x20).Concat(Enumerable.Range(0x7F, 0x21)).Select(c => (char)c)]);

    private string Unit => _countsUtf8Bytes ? "UTF-8 bytes" : "characters";

    private string Punctuation => string.Join(", ", _namePunctuation!.Select(p => $"'{p}'"));

    private static string Show(char c) =>
        c is > ' ' and < '\u007f' ? $"'{c}'" : "U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture);
}
