//! k6's own test vectors (its `lib/execution_segment_test.go`), and the property that the
//! shares of every sequence add up to the whole and never shrink.

use super::*;

/// A segment, its sequence, and (count, share) pairs.
type ScaleCase<'a> = (Option<&'a str>, Option<&'a str>, &'a [(u64, u64)]);
/// A segment of the thirds, and (count re-segmented by, share of 50 after) pairs.
type ResegmentCase<'a> = (&'a str, &'a [(u64, Option<u64>)]);
/// A sequence, a segment, and its striped offsets: start, gaps, period.
type OffsetsCase<'a> = (Option<&'a str>, &'a str, u64, &'a [u64], u64);

fn segment(text: &str) -> Segment {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn sequence(text: &str) -> Sequence {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn tuple(segment_text: Option<&str>, sequence_text: Option<&str>) -> Tuple {
    let sequence = sequence_text.map(sequence);
    Tuple::new(segment_text.map(segment), sequence.as_ref())
        .unwrap_or_else(|e| panic!("{segment_text:?} of {sequence_text:?}: {e}"))
}

#[test]
fn segments_parse_as_k6_parses_them() {
    assert_eq!(segment("0:1"), Segment::FULL);
    assert_eq!(segment(""), Segment::FULL);
    for text in ["0.5:0.75", "1/2:3/4", "50%:75%", "2/4:75%"] {
        assert_eq!(segment(text).to_string(), "1/2:3/4", "{text}");
    }
    assert_eq!(segment("75%").to_string(), "0:3/4");
    assert!(matches!(
        "125%".parse::<Segment>(),
        Err(SegmentError::EndAboveOne(_))
    ));
    assert!(matches!(
        "125%:250%".parse::<Segment>(),
        Err(SegmentError::EndAboveOne(_))
    ));
    assert!(matches!(
        "55%:50%".parse::<Segment>(),
        Err(SegmentError::StartNotBeforeEnd(_))
    ));
    assert!(matches!(
        "-1/2:1".parse::<Segment>(),
        Err(SegmentError::StartBelowZero(_))
    ));
    for text in [
        "1a5%",
        "1a5",
        "1a5%:2/3",
        "12.5%",
        "1/0",
        ".",
        "0.1234567891",
    ] {
        let error = text.parse::<Segment>().expect_err(text);
        assert!(
            matches!(error, SegmentError::NotANumber(_)),
            "{text}: {error}"
        );
    }
    assert!(
        "1a5"
            .parse::<Segment>()
            .unwrap_err()
            .to_string()
            .contains("write a fraction"),
        "the message says what to write"
    );
}

#[test]
fn sequences_parse_as_k6_parses_them() {
    for text in ["0.5", "1,1", "1/2,1/2", "1/2,1/3", "-0.5,1", "0,1,1/2"] {
        assert!(text.parse::<Sequence>().is_err(), "{text}");
    }
    assert_eq!(sequence("0.5,1").segments(), [segment("1/2:1")]);
    assert_eq!(sequence("0.5,0.7").segments(), [segment("1/2:7/10")]);
    assert_eq!(sequence("0,1/3,2/3,1").to_string(), "0,1/3,2/3,1");
    assert_eq!(sequence("0,1/13,2/13,1/3,1/2,3/4,1").segments().len(), 6);
}

#[test]
fn segments_split_and_nest() {
    let parts = segment("1/4:1/2").split(3).expect("three parts");
    let shown: Vec<String> = parts.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["1/4:1/3", "1/3:5/12", "5/12:1/2"]);
    assert!(segment("1/4:1/2").split(0).is_err());
    assert_eq!(
        segment("1/2:1").sub_segment(&segment("0:1/2")),
        segment("1/2:3/4")
    );
}

#[test]
fn tuples_scale_as_k6s_do() {
    let cases: &[ScaleCase] = &[
        (Some("0.5"), None, &[(2, 1), (3, 2)]),
        (Some("0.5:1.0"), None, &[(2, 1), (3, 1)]),
        (Some("0.5"), Some("0,0.5,1"), &[(2, 1), (3, 2)]),
        (Some("0.5:1.0"), Some("0,0.5,1"), &[(2, 1), (3, 1)]),
        (Some("0:7/20"), Some("0,7/20,7/10,1"), &[(50, 18)]),
        (None, None, &[(50, 50), (1, 1), (0, 0)]),
        (Some("0:1"), Some("0,1"), &[(50, 50), (1, 1), (0, 0)]),
        (
            Some("0:1/3"),
            Some("0,1/3,2/3,1"),
            &[(50, 17), (3, 1), (2, 1), (1, 1), (0, 0)],
        ),
        (
            Some("1/3:2/3"),
            Some("0,1/3,2/3,1"),
            &[(50, 17), (3, 1), (2, 1), (1, 0), (0, 0)],
        ),
        (
            Some("2/3:1"),
            Some("0,1/3,2/3,1"),
            &[(50, 16), (3, 1), (2, 0), (1, 0), (0, 0)],
        ),
    ];
    for (segment_text, sequence_text, values) in cases {
        let tuple = tuple(*segment_text, *sequence_text);
        for &(value, share) in *values {
            assert_eq!(
                tuple.scale(value),
                share,
                "{segment_text:?} of {sequence_text:?}, {value}"
            );
        }
    }
    // The doc comment of k6's type: the quarters of 0,1/2,3/4,1 for 1 to 12.
    let shares = |s: &str| -> Vec<u64> {
        let tuple = tuple(Some(s), Some("0,1/2,3/4,1"));
        (1..=12).map(|v| tuple.scale(v)).collect()
    };
    assert_eq!(shares("0:1/2"), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
    assert_eq!(shares("1/2:3/4"), [0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3]);
    assert_eq!(shares("3/4:1"), [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3]);
}

#[test]
fn a_segment_must_be_one_of_its_sequence() {
    let error = Tuple::new(Some(segment("0:1/4")), Some(&sequence("0,1/3,2/3,1")))
        .expect_err("not in the sequence");
    assert_eq!(
        error.to_string(),
        "the execution segment 0:1/4 is not one of the sequence 0,1/3,2/3,1"
    );
    let fine = Tuple::new(Some(segment("0:1/100003")), Some(&sequence("0,1/100003,1")));
    assert!(
        matches!(fine, Err(SegmentError::TooFine { lcd: 100_003, .. })),
        "{fine:?}"
    );
    assert!(Tuple::new(Some(segment("0:1/99991")), Some(&sequence("0,1/99991,1"))).is_ok());
    // Denominators far past the cap are refused, not multiplied.
    let huge = "0,1/999999999999999999,1/99999999999999997,1";
    let first = sequence(huge).segments()[0];
    assert!(matches!(
        Tuple::new(Some(first), Some(&sequence(huge))),
        Err(SegmentError::TooFine { .. })
    ));
}

#[test]
fn tuples_resegment_as_k6s_do() {
    let thirds = Some("0,1/3,2/3,1");
    // Segment, then v → ScaleInt64(50) of the re-segmented tuple, None where k6 errs.
    let cases: &[ResegmentCase] = &[
        (
            "0:1/3",
            &[
                (50, Some(17)),
                (20, Some(18)),
                (3, Some(17)),
                (2, Some(25)),
                (1, Some(50)),
                (0, None),
            ],
        ),
        (
            "1/3:2/3",
            &[
                (50, Some(17)),
                (20, Some(17)),
                (3, Some(17)),
                (2, Some(25)),
                (1, None),
                (0, None),
            ],
        ),
        (
            "2/3:1",
            &[
                (50, Some(16)),
                (20, Some(15)),
                (3, Some(16)),
                (2, None),
                (1, None),
                (0, None),
            ],
        ),
    ];
    for (segment_text, values) in cases {
        let tuple = tuple(Some(segment_text), thirds);
        for &(value, expected) in *values {
            let share = tuple.resegment(value).ok().map(|t| t.scale(50));
            assert_eq!(share, expected, "{segment_text} re-segmented by {value}");
        }
    }
    let resegmented = tuple(Some("0:1/3"), thirds).resegment(20).expect("a share");
    assert_eq!(resegmented.sequence().to_string(), "0,7/20,7/10,1");
    assert_eq!((resegmented.scale(1), resegmented.scale(0)), (1, 0));
    let second = tuple(Some("1/3:2/3"), thirds)
        .resegment(20)
        .expect("a share");
    assert_eq!(second.scale(1), 0);
}

#[test]
fn striped_offsets_are_k6s() {
    let seven = Some("0,0.3,0.5,0.6,0.7,0.8,0.9,1");
    let other = Some("0,0.2,0.5,0.6,0.7,0.8,0.9,1");
    let cases: &[OffsetsCase] = &[
        (seven, "0:0.3", 0, &[4, 3, 3], 10),
        (seven, "0.3:0.5", 1, &[4, 6], 10),
        (seven, "0.5:0.6", 2, &[10], 10),
        (seven, "0.6:0.7", 3, &[10], 10),
        (seven, "0.8:0.9", 8, &[10], 10),
        (seven, "0.9:1", 9, &[10], 10),
        (other, "0.9:1", 9, &[10], 10),
        (other, "0:0.2", 1, &[4, 6], 10),
        (other, "0.6:0.7", 3, &[10], 10),
        (Some("0,0.2,0.5"), "0:0.2", 3, &[6, 4], 10),
        (Some("0,0.2,0.5"), "0.2:0.5", 1, &[4, 2, 4], 10),
        (Some("0,2/5,4/5"), "0:2/5", 0, &[3, 2], 5),
        (Some("0,2/5,4/5"), "2/5:4/5", 1, &[3, 2], 5),
        (None, "0:0.2", 1, &[5], 5),
        (None, "0:1/5", 1, &[5], 5),
        (None, "0:2/10", 1, &[5], 5),
        (None, "0:0.4", 1, &[2, 3], 5),
        (None, "0:2/5", 1, &[2, 3], 5),
        (None, "0:4/10", 1, &[2, 3], 5),
        (None, "2/5:4/5", 1, &[3, 2], 5),
        (None, "1/10:5/10", 1, &[2, 2, 4, 2], 10),
    ];
    for (sequence_text, segment_text, start, offsets, lcd) in cases {
        let got = tuple(Some(segment_text), *sequence_text).striped_offsets();
        assert_eq!(
            got,
            (*start, offsets.to_vec(), *lcd),
            "{segment_text} of {sequence_text:?}"
        );
    }
    for (text, lcd) in [
        ("0,0.1,0.5,0.6,0.7,0.8,0.9,1", 10),
        ("0,1/3,5/6", 6),
        ("0,1/3,4/7", 21),
    ] {
        let parsed = sequence(text);
        let first = Tuple::new(Some(parsed.segments()[0]), Some(&parsed)).expect("its first");
        assert_eq!(first.striped_offsets().2, lcd, "{text}");
    }
}

#[test]
fn segmented_indexes_walk_as_k6s_do() {
    let walk = |start, lcd, offsets: &[u64]| {
        let mut index = SegmentedIndex::new(start, lcd, offsets.to_vec());
        [index.forward(), index.forward(), index.forward()].map(|(_, global)| global)
    };
    assert_eq!(walk(0, 2, &[2]), [1, 3, 5]);
    assert_eq!(walk(1, 2, &[2]), [2, 4, 6]);
    assert_eq!(walk(1, 7, &[4, 3]), [2, 6, 9]);
    let mut index = SegmentedIndex::new(1, 7, vec![4, 3]);
    assert_eq!(index.goto(5), (1, 2));
    for value in [6, 7, 8] {
        assert_eq!(index.goto(value), (2, 6), "goto({value})");
    }
    assert_eq!(index.goto(9), (3, 9));
    assert_eq!(index.goto(1), (0, 0));
    // 2 + 7k and 6 + 7k: whole cycles, then a short walk.
    assert_eq!(index.goto(99), (28, 97));
    assert_eq!(index.forward(), (29, 100));
    assert_eq!(index.back(), (28, 97));
    assert_eq!(index.goto(100), (29, 100));
}

/// A sequence of `cuts` random points (thirteenths, hundredths or sevenths).
fn random_sequence(rng: &mut fastrand::Rng) -> Sequence {
    let denominator = [7, 13, 100][rng.usize(0..3)];
    let mut points: Vec<i64> = (1..denominator).filter(|_| rng.u8(0..4) == 0).collect();
    points.insert(0, 0);
    points.push(denominator);
    let text: Vec<String> = points
        .iter()
        .map(|p| format!("{p}/{denominator}"))
        .collect();
    sequence(&text.join(","))
}

#[test]
fn the_shares_of_every_sequence_add_up_and_never_shrink() {
    let mut rng = fastrand::Rng::with_seed(16);
    for _ in 0..40 {
        let sequence = random_sequence(&mut rng);
        let tuples: Vec<Tuple> = sequence
            .segments()
            .iter()
            .map(|s| Tuple::new(Some(*s), Some(&sequence)).expect("in its sequence"))
            .collect();
        let mut last = vec![0; tuples.len()];
        for count in 0..250 {
            let shares: Vec<u64> = tuples.iter().map(|t| t.scale(count)).collect();
            assert_eq!(shares.iter().sum::<u64>(), count, "{sequence} at {count}");
            assert!(
                shares.iter().zip(&last).all(|(now, before)| now >= before),
                "{sequence}"
            );
            last = shares;
        }
        // Each owns distinct global numbers, and together all of them.
        let mut owned: Vec<u64> = Vec::new();
        for tuple in &tuples {
            let mut index = tuple.index();
            for _ in 0..tuple.scale(500) {
                owned.push(index.forward().1);
            }
        }
        owned.sort_unstable();
        assert_eq!(owned, (1..=500).collect::<Vec<u64>>(), "{sequence}");
        // The n-th owned number, without the walk, is the walk's.
        for tuple in &tuples {
            let mut index = tuple.index();
            for local in 1..=60 {
                assert_eq!(tuple.nth_owned(local), index.forward().1, "{sequence}");
            }
        }
    }
}
