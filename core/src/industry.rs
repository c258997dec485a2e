//! Sichuan's "10+3" modern agriculture industries (四川现代农业"10+3"产业体系).

use serde::{Deserialize, Serialize};

/// One of the ten specialty industries or the three supporting industries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Industry {
    GrainOil,
    Pig,
    Tea,
    Vegetable,
    LiquorMaterial,
    Bamboo,
    Fruit,
    MedicinalHerb,
    CattleSheep,
    Fish,
    Seed,
    Equipment,
    DryingColdChain,
}

impl Industry {
    pub const ALL: [Industry; 13] = [
        Industry::GrainOil,
        Industry::Pig,
        Industry::Tea,
        Industry::Vegetable,
        Industry::LiquorMaterial,
        Industry::Bamboo,
        Industry::Fruit,
        Industry::MedicinalHerb,
        Industry::CattleSheep,
        Industry::Fish,
        Industry::Seed,
        Industry::Equipment,
        Industry::DryingColdChain,
    ];

    /// Stable machine code, stored in documents and the database.
    pub fn code(self) -> &'static str {
        match self {
            Industry::GrainOil => "grain_oil",
            Industry::Pig => "pig",
            Industry::Tea => "tea",
            Industry::Vegetable => "vegetable",
            Industry::LiquorMaterial => "liquor_material",
            Industry::Bamboo => "bamboo",
            Industry::Fruit => "fruit",
            Industry::MedicinalHerb => "medicinal_herb",
            Industry::CattleSheep => "cattle_sheep",
            Industry::Fish => "fish",
            Industry::Seed => "seed",
            Industry::Equipment => "equipment",
            Industry::DryingColdChain => "drying_cold_chain",
        }
    }

    /// The name officers know it by.
    pub fn name_zh(self) -> &'static str {
        match self {
            Industry::GrainOil => "川粮油",
            Industry::Pig => "川猪",
            Industry::Tea => "川茶",
            Industry::Vegetable => "川菜",
            Industry::LiquorMaterial => "川酒(酿酒原料)",
            Industry::Bamboo => "川竹",
            Industry::Fruit => "川果",
            Industry::MedicinalHerb => "川药",
            Industry::CattleSheep => "川牛羊",
            Industry::Fish => "川鱼",
            Industry::Seed => "现代农业种业",
            Industry::Equipment => "现代农业装备",
            Industry::DryingColdChain => "现代农业烘干冷链物流",
        }
    }

    /// True for the three supporting industries (the "+3").
    pub fn is_supporting(self) -> bool {
        matches!(self, Industry::Seed | Industry::Equipment | Industry::DryingColdChain)
    }

    pub fn from_code(code: &str) -> Option<Industry> {
        Industry::ALL.into_iter().find(|i| i.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_plus_three_with_unique_codes() {
        assert_eq!(Industry::ALL.iter().filter(|i| !i.is_supporting()).count(), 10);
        assert_eq!(Industry::ALL.iter().filter(|i| i.is_supporting()).count(), 3);
        for i in Industry::ALL {
            assert_eq!(Industry::from_code(i.code()), Some(i));
        }
        assert_eq!(Industry::from_code("rice"), None);
    }
}
